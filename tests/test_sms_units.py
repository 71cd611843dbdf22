"""The SMS channel's pure pieces, each with its own table: sender forms, UDH, joining parts, reply parts, the rate
limiter, the grammar's edges."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from redis import Redis

from channels.base import InboundMessage
from channels.gsm7 import MULTI_PART, MULTI_PART_16, SINGLE_PART, is_gsm7, septets
from channels.sms_aggregator import concat_elements, parse_timestamp, parse_udh, port_elements
from channels.sms_aggregator_send import SPLIT_8, SPLIT_16, reply_parts
from channels.social import strip_leading_mentions
from gateway.concat import GAP_MARKER, join_parts
from gateway.errors import RejectedInput
from gateway.replies import acknowledgement, flagged, load_replies, render, reply_templates, shown_typed_id, status_name
from gateway.tables import REPLY_FIELDS
from gateway.tracking import MAX_LENGTH, MIN_LENGTH, format_tracking_id, is_valid_tracking_id
from normalizer.envelope import Attachment, Channel, SenderKind
from normalizer.grammar import Action
from normalizer.inbound import decode_payload
from normalizer.keywords import parse_text
from normalizer.our_replies import PUBLIC_REPLY_KEYS, SMS_REPLY_KEYS
from normalizer.pipeline import Normalized, normalize
from normalizer.sender import normalize_msisdn
from normalizer.text import clean_text
from tests.upgrade_support import previous_module
from workers.reply import RateLimiter
from workers.social_reply import mention_ref
from workers.windows import count_in_window


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("(0812) 3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("62 812 3456 7890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 (812) 3456 7890", "+6281234567890"),
        ("0857 1234 5002", "+6285712345002"),
        ("0896-1234-5003", "+6289612345003"),
        ("628111234567", "+628111234567"),
        (" 021-5551234 ", "+62215551234"),
        ("+6591234567", "+6591234567"),
        # "00", the international prefix most of the world dials: it was refused `bad_sender`, the report lost
        ("006281234567890", "+6281234567890"),
        ("0062 812-3456-7890", "+6281234567890"),
        ("0062812345678901", "+62812345678901"),
        ("0060 12-345 6789", "+60123456789"),
    ],
    ids=lambda value: value.strip().replace(" ", "_"),
)
def test_senders_in_any_indonesian_form_become_e164(raw: str, e164: str) -> None:
    assert normalize_msisdn(raw) == e164


@pytest.mark.parametrize("raw", ["halo", "", "12", "+62"], ids=["word", "empty", "too-short", "country-only"])
def test_a_sender_that_is_no_number_is_rejected(raw: str) -> None:
    with pytest.raises(RejectedInput):
        normalize_msisdn(raw)


@pytest.mark.parametrize(
    ("udh", "expected"),
    [
        ("050003A70301", ("167", 3, 1)),
        ("050003a70303", ("167", 3, 3)),
        ("060804BEEF0201", ("48879", 2, 1)),
        ("0B0504158200000003020201", ("2", 2, 1)),  # port addressing first, then concatenation
        ("050504158200", None),  # port addressing only
        ("", None),
        # 3GPP TS 23.040 9.2.3.24.1 and .8: an element whose part count is 0, or whose part number is 0 or above the
        # count, is ignored whole; the SMS is then a single message (or the next usable element's part).
        ("050003A70304", None),
        ("050003A70300", None),
        ("050003A70000", None),
        ("050003A70001", None),
        ("060804BEEF0203", None),
        ("060804BEEF0200", None),
        ("0A0003A702030003B80201", ("184", 2, 1)),
    ],
    ids=["8bit-ref", "lowercase-hex", "16bit-ref", "after-another-element", "no-concat-element", "empty",
         "part-above-count", "part-zero", "count-and-part-zero", "count-zero", "16bit-part-above-count",
         "16bit-part-zero", "an-ignored-element-then-a-usable-one"],
)
def test_udh_concatenation_elements(udh: str, expected: tuple[str, int, int] | None) -> None:
    assert parse_udh(udh) == expected


@pytest.mark.parametrize(
    ("udh", "expected"),
    [
        ("06050423F40000", [(9204, 0, 16)]),  # a vCard (Smart Messaging)
        ("0605040B8423F0", [(2948, 9200, 16)]),  # a WAP push
        ("040402F5F5", [(245, 245, 8)]),
        ("0B050423F400000003A70201", [(9204, 0, 16)]),  # ports, then concatenation
        ("0900032A02010402F500", [(245, 0, 8)]),  # concatenation, then ports
        ("050003A70301", []),
        ("", []),
        ("050503158200", []),  # 16-bit ports in 3 octets: no such element
        ("0505041582", []),  # cut short by the header's length
    ],
    ids=["16bit-vcard", "16bit-wap-push", "8bit", "16bit-then-concat", "concat-then-8bit", "concat-only", "empty",
         "wrong-size", "cut-short"],
)
def test_udh_port_addressing_elements(udh: str, expected: list[tuple[int, int, int]]) -> None:
    assert port_elements(udh) == expected


@pytest.mark.parametrize(
    ("coding", "data", "text"),
    [
        ("gsm7", "Jalan rusak", "Jalan rusak"),
        ("ucs2", "004A0061006C0061006E0020D83DDE21", "Jalan 😡"),
        ("ucs2", "00 4A 00 61", "Ja"),
        ("8bit", "4a616c616e", "Jalan"),
        ("8bit", "e9", "é"),  # not UTF-8: Latin-1
        # A byte order mark says which end comes first, and is dropped; without one, big-endian as the standard says.
        ("ucs2", "FFFE4A0061006C0061006E0020003DD821DE", "Jalan 😡"),
        ("ucs2", "fffe4a006100", "Ja"),
        ("ucs2", "FF FE 4A 00 61 00", "Ja"),
        ("ucs2", "FEFF004A0061", "Ja"),
        ("ucs2", "FFFE", ""),
        ("ucs2", "FFFEFFFE4A00", "\ufeffJ"),  # one mark only: a second is a character (U+FEFF) of the text
        ("ucs2", "4A006100", "\u4a00\u6100"),  # no mark: big-endian, whatever it looks like
        ("ucs2", "004AFFFE", "J\ufffe"),  # FFFE past the start is no mark
    ],
    ids=["gsm7-text", "ucs2-surrogates", "ucs2-spaced-hex", "8bit-utf8", "8bit-latin1", "ucs2-le-bom-surrogates",
         "ucs2-le-bom-lowercase", "ucs2-le-bom-spaced", "ucs2-be-bom", "ucs2-bom-alone", "ucs2-le-bom-then-a-zwnbsp",
         "ucs2-no-bom-big-endian", "ucs2-fffe-past-the-start"],
)
def test_payload_decoding(coding: str, data: str, text: str) -> None:
    assert decode_payload(coding, data) == text


LE_EMOJI = ("\ufeffJ😡!").encode("utf-16-le").hex()


@pytest.mark.parametrize(("parts", "text"), [
    pytest.param([{"number": 2, "coding": "ucs2", "data": LE_EMOJI[12:]},
                  {"number": 1, "coding": "ucs2", "data": LE_EMOJI[:12]}], "J😡!", id="little-endian-split-emoji"),
    pytest.param([{"number": 1, "coding": "ucs2", "data": "FEFF004A"}, {"number": 2, "coding": "ucs2", "data": "0021"}],
                 "J!", id="big-endian-mark"),
])
def test_the_first_parts_byte_order_mark_reads_the_joined_parts(parts: list[dict[str, object]], text: str) -> None:
    """The mark opens the message, so only its first part holds it: the parts' bytes are joined before decoding, and
    the mark says how to read all of them."""
    assert join_parts(parts, 2) == (text, False)


LE_REPORT = ("\ufeffLAPOR jalan rusak " + "di desa kami " + "mohon segera").encode("utf-16-le").hex()


@pytest.mark.parametrize(("parts", "text"), [
    pytest.param([{"number": 1, "coding": "ucs2", "data": LE_REPORT[:76]},
                  {"number": 3, "coding": "ucs2", "data": LE_REPORT[128:]}],
                 f"LAPOR jalan rusak{GAP_MARKER}mohon segera", id="little-endian-middle-part-lost"),
    pytest.param([{"number": 1, "coding": "ucs2", "data": LE_REPORT[:76]},
                  {"number": 2, "coding": "gsm7", "data": "di desa kami "},
                  {"number": 3, "coding": "ucs2", "data": LE_REPORT[128:]}],
                 "LAPOR jalan rusak di desa kami mohon segera", id="little-endian-around-a-gsm7-part"),
    pytest.param([{"number": 1, "coding": "ucs2", "data": "FEFF004A"}, {"number": 3, "coding": "ucs2", "data": "0021"}],
                 f"J{GAP_MARKER}!", id="big-endian-middle-part-lost"),
    pytest.param([{"number": 2, "coding": "ucs2", "data": "004A"}, {"number": 3, "coding": "ucs2", "data": "0021"}],
                 f"{GAP_MARKER}J!", id="first-part-lost-big-endian-as-the-standard-has-it"),
])
def test_the_first_parts_byte_order_mark_reads_the_parts_after_a_gap(parts: list[dict[str, object]], text: str) -> None:
    """Parts after a lost one are decoded on their own, and the first part's mark says how to read them too: read
    big-endian, a little-endian message's words after the gap were CJK characters in the case store."""
    assert join_parts(parts, 3) == (text.strip(), len(parts) < 3)


def test_joining_parts_as_bytes_and_marking_gaps() -> None:
    emoji = "😡".encode("utf-16-be").hex()
    parts = [
        {"number": 2, "coding": "ucs2", "data": emoji[4:] + "0021"},
        {"number": 1, "coding": "ucs2", "data": "004A" + emoji[:4]},
    ]
    assert join_parts(parts, 2) == ("J😡!", False)
    gsm = [{"number": 1, "coding": "gsm7", "data": "awal "}, {"number": 3, "coding": "gsm7", "data": "akhir"}]
    assert GAP_MARKER == " [...] "
    assert join_parts(gsm, 4) == ("awal [...] akhir [...]", True)
    assert join_parts(gsm[1:], 3) == ("[...] akhir", True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1763800000", "2025-11-22T08:26:40Z"), ("2026-11-22 09:15:00", "2026-11-22T09:15:00Z"),
     ("2026-11-22T16:15:00+07:00", "2026-11-22T09:15:00Z"), ("kemarin", None), ("", None),
     ("0001-01-01T00:00:00+07:00", None), ("9999-12-31T23:59:59-05:00", None)],
    ids=["unix", "kannel-naive", "rfc3339-wib", "garbage", "empty", "utc-before-year-1", "utc-after-year-9999"],
)
def test_timestamps(value: str, expected: str | None) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("length", [1, 160, 161, 304, 305, 500])
def test_reply_parts_fit_their_sms(length: int) -> None:
    text = ("Jalan rusak di desa kami. " * 30)[:length]
    parts = reply_parts(text, "reply-1")
    assert "".join(p.text for p in parts) == text
    if length <= SINGLE_PART:
        assert len(parts) == 1 and parts[0].udh is None
    else:
        assert all(septets(p.text) <= MULTI_PART_16 for p in parts)
        assert len(parts) == -(-length // MULTI_PART_16)
        elements = [concat_elements(p.udh.hex()) for p in parts if p.udh]
        assert elements == [[(elements[0][0][0], len(parts), n)] for n in range(1, len(parts) + 1)]
        assert all(len(p.udh) == 7 and p.udh[1] == 0x08 for p in parts if p.udh)  # a 16-bit reference (IEI 08)


@pytest.mark.parametrize("length", [1, 160, 161, 305, 306, 307, 500])
def test_a_reply_split_as_the_previous_release_split_it_is_its_parts_byte_for_byte(length: int) -> None:
    """`SPLIT_8`, the split of a reply whose parts the release before this one began sending (no split on its record),
    makes the parts that release made: 153 septets beside an 8-bit reference (05 00 03 ref count n). Finished with
    this release's split, the parts sent after the upgrade were another message's on the phone."""
    text = ("Jalan rusak di desa kami. " * 30)[:length]
    parts = reply_parts(text, "reply-1", SPLIT_8)
    previous = previous_module("channels/sms_aggregator_send.py").reply_parts(text, "reply-1")
    assert [(p.number, p.total, p.text, p.udh) for p in parts] == [(p.number, p.total, p.text, p.udh) for p in previous]
    if length > SINGLE_PART:
        assert len(parts) == -(-length // MULTI_PART) and all(septets(p.text) <= MULTI_PART for p in parts)
        elements = [concat_elements(p.udh.hex()) for p in parts if p.udh]
        assert elements == [[(elements[0][0][0], len(parts), n)] for n in range(1, len(parts) + 1)]
        assert all(len(p.udh) == 6 and p.udh[1] == 0x00 for p in parts if p.udh)  # an 8-bit reference (IEI 00)
    assert reply_parts(text, "reply-1", SPLIT_16) == reply_parts(text, "reply-1")


@pytest.mark.parametrize(("one", "other"), [("reply-4", "reply-6")], ids=["same-first-byte-of-their-digest"])
def test_two_long_replies_to_one_phone_carry_two_references(one: str, other: str) -> None:
    """Each reply's reference is drawn from its reply id. One byte of it (an 8-bit reference) was the same for two
    replies in 256: a phone holding both at once (a status answer and a help text) joined their parts as one message,
    or dropped the second's as the first's repeated parts. 16 bits: one in 65,536."""
    text = "Jalan rusak di desa kami. " * 20
    references = {concat_elements(part.udh.hex())[0][0] for reply in (one, other)
                  for part in reply_parts(text, reply) if part.udh}
    assert len(references) == 2


def test_reply_parts_never_split_an_escape_pair_and_are_gsm7_safe() -> None:
    parts = reply_parts("“" + "x" * 151 + "€" + "y" * 10 + "🙏", "reply-2")
    assert parts[0].text.startswith('"')
    assert all(septets(p.text) <= MULTI_PART for p in parts)
    assert "€" in parts[1].text and "🙏" not in "".join(p.text for p in parts)


@dataclass(frozen=True)
class RateCase:
    id: str
    per_second: float
    grants: int
    windows: list[int]  # the window of each grant, from the clock's second 1000 (a window of 2 s: 500)


RATE_CASES = [
    RateCase("an-integer-rate-fills-each-second", 3, 7, [1000, 1000, 1000, 1001, 1001, 1001, 1002]),
    RateCase("one-a-second", 1, 3, [1000, 1001, 1002]),
    RateCase("one-and-a-half-is-three-every-two-seconds", 1.5, 7, [1000, 1001, 1001, 1002, 1003, 1003, 1004]),
    RateCase("two-and-a-half-is-five-every-two-seconds", 2.5, 6, [1000, 1000, 1001, 1001, 1001, 1002]),
    RateCase("one-and-a-quarter-is-five-every-four-seconds", 1.25, 6, [1000, 1001, 1002, 1003, 1003, 1004]),
    RateCase("a-tenth-above-one-is-eleven-every-ten-seconds", 1.1, 12, [*range(1000, 1010), 1009, 1010]),
    RateCase("below-one-is-one-a-window", 0.5, 3, [500, 501, 502]),
]


@pytest.mark.parametrize("case", RATE_CASES, ids=[case.id for case in RATE_CASES])
def test_the_rate_limiter_grants_its_exact_rate(redis: Redis, case: RateCase) -> None:
    """Across every worker, counted in Redis: an integer rate's grants fill each second; a fractional rate of 1 or
    more gets its exact share over the seconds (it was floored: 1.5 sent as 1 a second), never more in one second
    than the rate rounded up."""
    clock = [1000.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(redis, case.id, case.per_second, clock=lambda: clock[0], sleep=sleep)
    windows = [limiter.acquire() for _ in range(case.grants)]
    assert windows == case.windows
    assert max(windows.count(window) for window in windows) <= math.ceil(case.per_second)


@pytest.mark.parametrize(
    ("keys", "ttl", "counts"),
    [
        pytest.param(["w:1", "w:1", "w:1"], 5, [1, 2, 3], id="one-window-counts-up"),
        pytest.param(["w:1", "w:2", "w:1"], 5, [1, 1, 2], id="windows-count-apart"),
        pytest.param(["cap:hour"], 3700, [1], id="an-hourly-cap"),
    ],
)
def test_a_window_counts_each_call_and_always_expires(redis: Redis, keys: list[str], ttl: int,
                                                      counts: list[int]) -> None:
    """The reply rates (SMS, X, Instagram) and the e-mail cap count with `count_in_window`: counts per window, and
    every key it touches carries its expiry, or a used-up rate would stay used up."""
    assert [count_in_window(redis, key, ttl) for key in keys] == counts
    assert all(0 < redis.ttl(key) <= ttl for key in set(keys))


VALID = format_tracking_id(1234567)
BAD = VALID[:-1] + str((int(VALID[-1]) + 1) % 10)
# VALID grouped by thousands dots, as an amount is written ("12.345.674").
DOTTED = f"{VALID[:2]}.{VALID[2:5]}.{VALID[5:]}"
# The same digits as other keyboards type them: fullwidth (Chinese and Japanese phones), Arabic-Indic, Devanagari.
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(
    ("text", "action", "tracking_id"),
    [
        (f"CEK {VALID}", Action.STATUS, VALID),
        (f"cek: {VALID[:4]}-{VALID[4:]}", Action.STATUS, VALID),
        (f"STATUS nomor {VALID}", Action.STATUS, VALID),
        (f"cek {BAD}", Action.BAD_TRACKING_ID, BAD),
        (f"{BAD} jalan masih rusak", Action.BAD_TRACKING_ID, BAD),
        (f"{VALID[1:]}{VALID[0]} tambahan", Action.BAD_TRACKING_ID, None),  # a swapped ID is never someone else's
        (f"{VALID} tambahan foto", Action.FOLLOW_UP, VALID),
        (VALID, Action.STATUS, VALID),
        ("cek", Action.STATUS_HELP, None),
        ("0812345678901 nomor saya", Action.REPORT, None),
        (f"cek#{VALID}", Action.STATUS, VALID),
        (f"CEK{VALID}", Action.STATUS, VALID),
        (f"Cek:#{VALID}", Action.STATUS, VALID),
        (f"cek{BAD}", Action.BAD_TRACKING_ID, BAD),
        ("cekatan petugas kurang", Action.REPORT, None),
        ("6281234567890 nomor saya, lampu jalan mati", Action.REPORT, None),
        ("17-08-2025 ada pungli di kelurahan", Action.REPORT, None),
        ("17.08.2025 ada pungli di kelurahan", Action.REPORT, None),
        ("1.500.000 diminta untuk surat tanah", Action.REPORT, None),
        ("100.000 diminta petugas untuk KTP", Action.REPORT, None),
        (f"cek status {VALID}", Action.STATUS, VALID),
        (f"Cek status laporan saya {VALID}", Action.STATUS, VALID),
        ("Cek laporan saya", Action.STATUS_HELP, None),
        ("CEK laporan no.", Action.STATUS_HELP, None),
        ("cek?", Action.STATUS_HELP, None),
        ("Bantuan?", Action.HELP, None),
        ("HELP?", Action.HELP, None),
        ("Menu ?", Action.HELP, None),
        (f"Cek? {VALID}", Action.STATUS, VALID),
        (f"{VALID} 2 motor jatuh lagi", Action.FOLLOW_UP, VALID),
        (f"{VALID} 17-08-2025 ada lagi", Action.FOLLOW_UP, VALID),
        (f"{VALID[:4]} {VALID[4:]} 3 hari belum diperbaiki", Action.FOLLOW_UP, VALID),
        (f"CEK {VALID[:4]} {VALID[4:]} 2", Action.STATUS, VALID),
        (f"{BAD} 2 motor jatuh lagi", Action.BAD_TRACKING_ID, BAD),
        ("CEK 12345", Action.BAD_TRACKING_ID, "12345"),
        # The check digit typed apart is the ID only where nothing follows it: an amount and words ("cek 1500000 5
        # bulan gaji ...") were answered with the status of the report whose ID the digits made, the words dropped.
        (f"CEK {VALID[:-1]} {VALID[-1]}", Action.STATUS, VALID),
        (f"cek {VALID[:-1]} {VALID[-1]}?", Action.STATUS, VALID),
        (f"cek {VALID[:-1]} {VALID[-1]} bulan gaji honorer belum dibayar", Action.BAD_TRACKING_ID, VALID[:-1]),
        (f"cek {VALID[:-1]} {VALID[-1]} kali saya datang", Action.BAD_TRACKING_ID, VALID[:-1]),
        (f"CEK {VALID[:-1]} {VALID[-1]} terima kasih", Action.STATUS, VALID),  # thanks or a status question's words
        (f"cek {VALID[:-1]} {VALID[-1]} sudah sampai mana?", Action.STATUS, VALID),
        # Our short code copied from "ketik CEK <id> kirim ke 1708" between the command and the ID.
        (f"CEK 1708 {VALID}", Action.STATUS, VALID),
        (f"cek 1708 no. {VALID[:4]} {VALID[4:]}", Action.STATUS, VALID),
        (f"CEK @lapor1708 {VALID}", Action.STATUS, VALID),
        ("CEK 1708 12345", Action.BAD_TRACKING_ID, "12345"),
        ("cek no. 1234-5.", Action.BAD_TRACKING_ID, "12345"),
        ("cek 1234567890123456", Action.BAD_TRACKING_ID, "1234567890123456"),
        ("Cek 2 lampu jalan mati di RT 3", Action.REPORT, None),
        (f"{VALID}?", Action.STATUS, VALID),
        (f"{VALID} ?!", Action.STATUS, VALID),
        (f"{BAD}?", Action.BAD_TRACKING_ID, BAD),
        (f"{VALID} 🙏", Action.FOLLOW_UP, VALID),  # an emoji is the citizen's to add, as "terima kasih" is
        (f"Nomor lacak: {VALID}", Action.STATUS, VALID),
        (f"ID ({VALID})", Action.STATUS, VALID),
        (f"no. {BAD}", Action.BAD_TRACKING_ID, BAD),
        (f"No. {VALID} jalan masih rusak", Action.REPORT, None),
        (f"laporan {BAD} jalan masih rusak", Action.REPORT, None),
        ("Nomor 081234567890", Action.REPORT, None),
        (f"CEK ({VALID})", Action.STATUS, VALID),
        (f"cek <{VALID}>", Action.STATUS, VALID),
        (f'cek "{VALID}"', Action.STATUS, VALID),
        (f"cek *{VALID}*", Action.STATUS, VALID),
        (f"1708 CEK {VALID}", Action.STATUS, VALID),
        (f"1708 1708: {VALID}", Action.STATUS, VALID),
        (f"@lapor1708 {VALID} tambahan foto", Action.FOLLOW_UP, VALID),
        ("1708", Action.HELP, None),
        ("1708 ?", Action.HELP, None),
        ("1708 jalan rusak", Action.REPORT, None),
        ("1708 2 motor jatuh", Action.REPORT, None),
        (f"1708 {BAD}", Action.BAD_TRACKING_ID, BAD),
        (f"{format_tracking_id(1708000)[:4]} {format_tracking_id(1708000)[4:]}", Action.STATUS,
         format_tracking_id(1708000)),  # a valid ID typed in groups whose first is our short code stays one
        ("1708 " * 3000, Action.HELP, None),
        # An ID in other scripts' digits is the ID the reply shows in ASCII digits.
        (f"cek {VALID.translate(FULLWIDTH)}", Action.STATUS, VALID),
        (VALID.translate(FULLWIDTH), Action.STATUS, VALID),
        (f"{VALID.translate(ARABIC_INDIC)} jalan masih rusak", Action.FOLLOW_UP, VALID),
        (f"Nomor lacak: {VALID.translate(DEVANAGARI)}", Action.STATUS, VALID),
        (f"1708 {VALID.translate(FULLWIDTH)}", Action.STATUS, VALID),
        (f"CEK {BAD.translate(FULLWIDTH)}", Action.BAD_TRACKING_ID, BAD),
        ("０８１２３４５６７８９０ nomor saya", Action.REPORT, None),
        ("１７-０８-２０２５ ada pungli di kelurahan", Action.REPORT, None),
    ],
    ids=["cek", "cek-grouped", "status-filler", "cek-bad", "follow-up-bad", "rotated", "follow-up", "bare-id",
         "bare-cek", "phone-prose", "cek-hash-no-space", "cek-no-space", "cek-colon-hash", "cek-bad-no-space",
         "cek-prefix-of-a-word", "phone-62-prose", "date-dashes-prose", "date-dots-prose", "amount-millions-prose",
         "amount-thousands-prose", "cek-status", "cek-status-laporan-saya", "cek-fillers-only", "cek-no-id",
         "cek-question-mark", "bantuan-question-mark", "help-question-mark", "menu-spaced-question-mark",
         "cek-question-mark-id", "follow-up-opens-with-a-number", "follow-up-opens-with-a-date",
         "grouped-follow-up-opens-with-a-number", "cek-grouped-then-a-number", "bad-then-a-number",
         "cek-too-short", "cek-check-digit-apart", "cek-check-digit-apart-question",
         "cek-check-digit-apart-then-words-an-amount", "cek-check-digit-apart-then-words",
         "cek-check-digit-apart-then-thanks", "cek-check-digit-apart-then-a-status-question", "cek-short-code-id",
         "cek-short-code-filler-grouped", "cek-handle-id",
         "cek-short-code-too-short", "cek-filler-too-short", "cek-too-long", "cek-a-number-in-a-complaint",
         "id-question-mark", "id-spaced-punctuation", "bad-question-mark", "id-emoji-is-a-follow-up",
         "named-nomor-lacak", "named-id-in-brackets", "named-bad", "named-then-words", "named-bad-then-words",
         "named-phone-number", "cek-brackets", "cek-angle-brackets", "cek-quotes", "cek-bold", "short-code-cek",
         "short-code-twice-id", "handle-follow-up", "short-code-alone", "short-code-question-mark",
         "short-code-prose", "short-code-number-prose", "short-code-bad", "valid-id-opening-with-1708",
         "short-code-many-times", "cek-fullwidth", "bare-fullwidth", "follow-up-arabic-indic", "named-devanagari",
         "short-code-fullwidth", "cek-bad-fullwidth-shown-in-ascii", "phone-fullwidth-prose", "date-fullwidth-prose"],
)
def test_tracking_ids_in_the_grammar(text: str, action: Action, tracking_id: str | None) -> None:
    parsed = parse_text(text)
    assert parsed.action is action
    if tracking_id is not None:
        assert parsed.tracking_id == tracking_id


ZEROED = format_tracking_id(1_000_000)  # an ID with zeros in it: "10000004"


@pytest.mark.parametrize(("text", "action", "tracking_id", "words"), [
    # Grouped in thousands as a phone's calculator or a bank's SMS shows a number.
    (f"CEK {int(VALID):,}", Action.STATUS, VALID, ""),
    (f"cek no. {int(ZEROED):,}.", Action.STATUS, ZEROED, ""),
    (f"Cek {int(VALID):,} dana desa tidak jelas", Action.REPORT, None, None),  # a cheque's amount, with words
    (f"CEK {int(ZEROED):,}, terima kasih", Action.STATUS, ZEROED, "terima kasih"),  # as "CEK <id>, terima kasih"
    (f"CEK {int(ZEROED):,},", Action.STATUS, ZEROED, ""),
    (f"CEK {int(BAD):,}", Action.REPORT, None, None),  # read so only when it is a valid ID
    ("CEK 25,000 diminta petugas", Action.REPORT, None, None),
    (f"{int(ZEROED):,} jalan masih rusak", Action.REPORT, None, None),  # an amount opening prose stays prose
    # The letter O for a zero, as an ID read aloud or copied by hand is typed.
    (f"CEK {ZEROED.replace('0', 'O')}", Action.STATUS, ZEROED, ""),
    (f"cek {ZEROED.replace('0', 'o')} foto", Action.STATUS, ZEROED, "foto"),
    (f"CEK {ZEROED.replace('0', 'O')}, makasih", Action.STATUS, ZEROED, "makasih"),
    (f"STATUS laporan {ZEROED[:5].replace('0', 'O')}{ZEROED[5:]}", Action.STATUS, ZEROED, ""),
    # A check digit that fails too, nothing after it but thanks: a mistyped ID (it was a new report of the query).
    (f"CEK {BAD.replace('2', 'O')}", Action.BAD_TRACKING_ID, BAD.replace("2", "0"), ""),
    (f"cek {ZEROED[:-1].replace('0', 'O')}6 terima kasih", Action.BAD_TRACKING_ID, ZEROED[:-1] + "6", ""),
    (f"cek {ZEROED[:-1].replace('0', 'O')}6?", Action.BAD_TRACKING_ID, ZEROED[:-1] + "6", ""),
    (f"CEK {BAD.replace('2', 'O')} jalan masih rusak", Action.REPORT, None, None),  # the citizen's words after it
    ("CEK OOOOOOOO", Action.REPORT, None, None),
    ("CEK IlOOlO", Action.REPORT, None, None),  # no digit: letters
    # The command typed letter by letter (each was a new report of the query's words).
    (f"C E K {VALID}", Action.STATUS, VALID, ""),
    (f"c.e.k {VALID}", Action.STATUS, VALID, ""),
    (f"C-E-K {VALID}", Action.STATUS, VALID, ""),
    (f"S T A T U S {VALID}", Action.STATUS, VALID, ""),
    (f"C E K {BAD}", Action.BAD_TRACKING_ID, BAD, ""),
    ("C E K", Action.STATUS_HELP, None, ""),
    ("c e k harga beras naik terus", Action.REPORT, None, None),
    (f"A B C {VALID}", Action.REPORT, None, None),
    (f"{ZEROED.replace('0', 'O')} jalan masih rusak", Action.REPORT, None, None),  # only after a status command
    # A help word before a status command: the citizen asks for help with their report.
    (f"Bantuan cek {VALID}", Action.STATUS, VALID, ""),
    (f"bantuan, cek {VALID}", Action.STATUS, VALID, ""),
    (f"Bantuan min, cek laporan {VALID}", Action.STATUS, VALID, ""),
    (f"help check {VALID}", Action.STATUS, VALID, ""),
    (f"tolong bantu cek {VALID}", Action.STATUS, VALID, ""),
    (f"Bantuan cek {BAD}", Action.REPORT, None, None),  # as "tolong cek <mistyped>": it may be the citizen's number
    (f"Bantuan cek {VALID} jalan masih rusak", Action.REPORT, None, None),
    ("Bantuan cek", Action.STATUS_HELP, None, ""),
    ("bantuan cek harga beras naik terus", Action.REPORT, None, None),
    # Help's "ketik REG spasi LAPOR" typed as it reads.
    ("REG SPASI LAPOR", Action.HELP, None, ""),
    ("reg (spasi) 1708", Action.HELP, None, ""),
    ("DAFTAR space LAPOR", Action.HELP, None, ""),
    ("daftar spasi nama penerima bansos", Action.REPORT, None, None),
], ids=["thousands", "thousands-filler-stop", "thousands-then-words-an-amount", "thousands-comma-thanks",
        "thousands-comma", "thousands-bad", "thousands-amount", "thousands-opening-prose", "letter-o",
        "letter-o-lowercase-then-words", "letter-o-comma-thanks", "letter-o-some", "letter-o-bad",
        "letter-o-bad-thanks", "letter-o-bad-question", "letter-o-bad-then-words", "letter-o-only",
        "letter-l-and-o-only", "spelled-cek", "spelled-cek-dots", "spelled-cek-dashes", "spelled-status",
        "spelled-cek-bad", "spelled-cek-alone", "spelled-cek-prose", "spelled-other-letters",
        "letter-o-without-a-command", "help-cek", "help-comma-cek", "help-call-cek-filler",
        "help-check-en", "help-words-cek", "help-cek-bad", "help-cek-then-words", "help-cek-no-id", "help-cek-prose",
        "reg-spasi-lapor", "reg-spasi-in-brackets", "daftar-space", "daftar-spasi-prose"])
def test_ids_typed_as_numbers_are_shown_and_commands_after_help_words(text: str, action: Action,
                                                                     tracking_id: str | None,
                                                                     words: str | None) -> None:
    """Each was a new report answered with a new Tracking ID: the citizen asking after their report got a second
    one, and their question went to an agency as a complaint."""
    parsed = parse_text(text)
    assert parsed.action is action
    assert parsed.tracking_id == tracking_id
    if words is not None:
        assert parsed.text == words


@pytest.mark.parametrize(("text", "action"), [
    ("081234567890", Action.HELP),
    ("+62 812-3456-7890", Action.HELP),
    ("6281234567890", Action.HELP),
    ("0812 3456 7890.", Action.HELP),
    ("(021) 5551234", Action.HELP),
    ("+1 415 555 1234", Action.HELP),
    ("０８１２３４５６７８９０", Action.HELP),
    # no phone number: an ID, valid or mistyped, and a number too short for one opening with 0
    (VALID, Action.STATUS),
    (BAD, Action.BAD_TRACKING_ID),
    ("0812345", Action.REPORT),
    ("081234567890 jalan rusak depan rumah", Action.REPORT),
], ids=["mobile", "plus-in-groups", "without-plus", "spaced-stop", "landline-area-code", "foreign", "fullwidth",
        "valid-id", "mistyped-id", "short-with-zero", "with-words"])
def test_a_phone_number_alone_is_answered_with_help(text: str, action: Action) -> None:
    """A phone number and nothing else was filed as a report of a number and acknowledged: no report yet."""
    assert parse_text(text).action is action


def test_a_follow_up_to_an_id_in_fullwidth_digits_keeps_the_citizens_own_digits_in_its_text() -> None:
    """Only the ID is read in ASCII digits: the words (and numbers) the citizen adds stay as typed."""
    parsed = parse_text(f"{VALID.translate(FULLWIDTH)} ２ motor jatuh lagi")
    assert (parsed.action, parsed.tracking_id, parsed.text) == (Action.FOLLOW_UP, VALID, "２ motor jatuh lagi")


# Letters and punctuation as a fullwidth keyboard (Chinese and Japanese input) types them.
WIDE = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)} | {" ": "\u3000"})
WIDE_VALID = VALID.translate(WIDE)


@pytest.mark.parametrize(("text", "action", "read"), [
    pytest.param(f"ｃｅｋ {WIDE_VALID}", Action.STATUS, {"tracking_id": VALID}, id="cek-fullwidth-letters"),
    pytest.param(f"cek {VALID}".translate(WIDE), Action.STATUS, {"tracking_id": VALID}, id="all-fullwidth"),
    pytest.param(f"ＣＥＫ＃{WIDE_VALID}", Action.STATUS, {"tracking_id": VALID}, id="cek-glued-fullwidth-hash"),
    pytest.param(f"ｃｅｋ {WIDE_VALID[:4]}－{WIDE_VALID[4:]}", Action.STATUS, {"tracking_id": VALID},
                 id="grouped-with-a-fullwidth-dash"),
    pytest.param(f"＃{WIDE_VALID}", Action.STATUS, {"tracking_id": VALID}, id="bare-id-fullwidth-hash"),
    pytest.param(f"Ｃｅｋ？ {VALID}", Action.STATUS, {"tracking_id": VALID}, id="fullwidth-question-mark"),
    pytest.param(f"cek （{VALID}）", Action.STATUS, {"tracking_id": VALID}, id="fullwidth-brackets"),
    pytest.param(f"１７０８ ＣＥＫ {VALID}", Action.STATUS, {"tracking_id": VALID}, id="short-code-fullwidth"),
    pytest.param(f"＠lapor1708 ＣＥＫ {VALID}", Action.STATUS, {"tracking_id": VALID}, id="handle-fullwidth-at"),
    pytest.param(f"ｃｅｋ {BAD}", Action.BAD_TRACKING_ID, {"tracking_id": BAD}, id="cek-bad"),
    pytest.param("ＢＡＮＴＵＡＮ", Action.HELP, {}, id="help"),
    pytest.param("？", Action.HELP, {}, id="question-mark-alone"),
    pytest.param("ＳＴＯＰ", Action.OPT_OUT, {}, id="opt-out"),
    pytest.param("ＳＴＡＲＴ", Action.OPT_IN, {}, id="opt-in"),
    pytest.param("ｔｅｒｉｍａ ｋａｓｉｈ", Action.COURTESY, {}, id="courtesy"),
    # the citizen's text is kept as typed
    pytest.param(f"{WIDE_VALID}：ｔａｍｂａｈａｎ ｆｏｔｏ", Action.FOLLOW_UP,
                 {"tracking_id": VALID, "text": "ｔａｍｂａｈａｎ ｆｏｔｏ"}, id="follow-up-keeps-its-text"),
    pytest.param("ＷＢＳ\u3000ｋｅｐａｌａ ｄｅｓａ minta potongan", Action.REPORT,
                 {"kind": "whistleblowing", "text": "ｋｅｐａｌａ ｄｅｓａ minta potongan"}, id="kind-word"),
    pytest.param("ＬＡＰＯＲ：jalan rusak", Action.REPORT, {"explicit_kind": True, "text": "jalan rusak"},
                 id="kind-word-fullwidth-colon"),
    pytest.param("jalan rusak，ＡＮＯＮＩＭ", Action.REPORT, {"anonymous": True, "text": "jalan rusak"},
                 id="trailing-flag"),
    pytest.param("jalan rusak ＃ａｎｏｎｉｍ", Action.REPORT, {"anonymous": True, "text": "jalan rusak"},
                 id="flag-hashtag"),
    pytest.param("１７－０８－２０２５ ada pungli", Action.REPORT, {"text": "１７－０８－２０２５ ada pungli"},
                 id="date-fullwidth-dashes-prose"),
    pytest.param("１．５００．０００ diminta petugas", Action.REPORT, {"text": "１．５００．０００ diminta petugas"},
                 id="amount-fullwidth-dots-prose"),
    pytest.param("ｃｅｋａｔａｎ petugas kurang", Action.REPORT, {"text": "ｃｅｋａｔａｎ petugas kurang"},
                 id="a-word-starting-cek"),
])
def test_a_command_typed_on_a_fullwidth_keyboard_is_read_as_in_ascii(text: str, action: Action,
                                                                   read: dict[str, object]) -> None:
    """Fullwidth letters and punctuation are read through NFKC for commands, keywords and Tracking IDs only: what the
    citizen wrote is kept as typed."""
    parsed = parse_text(text)
    assert parsed.action is action
    assert {field: getattr(parsed, field) for field in read} == read



@pytest.mark.parametrize(("text", "read"), [
    pytest.param("ANONİM pungli di kelurahan", {"anonymous": True, "text": "pungli di kelurahan"}, id="anonim"),
    pytest.param("Anonİm pungli di kelurahan", {"anonymous": True, "text": "pungli di kelurahan"}, id="anonim-mixed"),
    pytest.param("RAHASİA pungli di kelurahan", {"confidential": True, "text": "pungli di kelurahan"}, id="rahasia"),
    pytest.param("LAPOR ANONİM RAHASİA: pungli di kelurahan",
                 {"anonymous": True, "confidential": True, "explicit_kind": True, "text": "pungli di kelurahan"},
                 id="kind-and-both-flags"),
    pytest.param("pungli di kelurahan, ANONİM", {"anonymous": True, "text": "pungli di kelurahan"}, id="closing"),
    pytest.param("#ANONİM pungli di kelurahan", {"anonymous": True, "text": "pungli di kelurahan"}, id="hashtag"),
    pytest.param("CONFİDENTİAL: the clerk takes bribes", {"confidential": True, "text": "the clerk takes bribes"},
                 id="english-two-dotted-capitals"),
    # asked in words, the words kept as typed
    pytest.param("Saya ingin melapor secara ANONİM karena takut dipecat", {
        "anonymous": True, "text": "Saya ingin melapor secara ANONİM karena takut dipecat"}, id="wished-in-a-sentence"),
    pytest.param("İDENTİTAS SAYA DİRAHASİAKAN. Pungli di kelurahan", {
        "anonymous": True, "text": "İDENTİTAS SAYA DİRAHASİAKAN. Pungli di kelurahan"}, id="asked-in-a-phrase"),
])
def test_a_flag_word_typed_with_a_dotted_capital_i_is_read_as_with_an_i(text: str, read: dict[str, object]) -> None:
    """Some phones' keyboards and autocorrect write the Turkish dotted capital "İ" for "I" ("ANONİM", "RAHASİA"): it
    lowercases to "i" and a combining dot, and no table held the word. Each was a named or public report of the
    whole text; the citizen's text is kept as typed."""
    parsed = parse_text(text)
    assert parsed.action is Action.REPORT
    assert {field: getattr(parsed, field) for field in read} == read

# The dashes phones type between digit groups in place of "-": autocorrect's en dash, Unicode's hyphens, figure dash and
# minus sign, the fullwidth hyphen-minus of a CJK keyboard.
UNICODE_DASHES = {"hyphen": "\u2010", "non-breaking-hyphen": "\u2011", "figure-dash": "\u2012", "en-dash": "\u2013",
                  "minus-sign": "\u2212", "fullwidth-hyphen-minus": "\uff0d"}


@pytest.mark.parametrize(("text", "read"), [
    pytest.param("anonım pungli di kelurahan", {"anonymous": True, "text": "pungli di kelurahan"}, id="anonim"),
    pytest.param("ANONıM pungli di kelurahan", {"anonymous": True, "text": "pungli di kelurahan"}, id="anonim-mixed"),
    pytest.param("rahasıa pungli di kelurahan", {"confidential": True, "text": "pungli di kelurahan"}, id="rahasia"),
    pytest.param("LAPOR anonım rahasıa: pungli di kelurahan",
                 {"anonymous": True, "confidential": True, "explicit_kind": True, "text": "pungli di kelurahan"},
                 id="kind-and-both-flags"),
    pytest.param("pungli di kelurahan, anonım", {"anonymous": True, "text": "pungli di kelurahan"}, id="closing"),
    pytest.param("#anonım pungli di kelurahan", {"anonymous": True, "text": "pungli di kelurahan"}, id="hashtag"),
    pytest.param("confıdentıal: the clerk takes bribes", {"confidential": True, "text": "the clerk takes bribes"},
                 id="english-two-dotless"),
    pytest.param("ANONıM|Kepala desa minta setoran", {"anonymous": True, "text": "ANONıM|Kepala desa minta setoran"},
                 id="glued-to-a-pipe"),
    pytest.param(f"{VALID} anonım foto sudah saya kirim", {"anonymous": True, "text": "foto sudah saya kirim"},
                 id="after-an-id"),
    # asked in words, the words kept as typed
    pytest.param("Saya ingin melapor secara anonım karena takut dipecat", {
        "anonymous": True, "text": "Saya ingin melapor secara anonım karena takut dipecat"}, id="wished-in-a-sentence"),
    pytest.param("pungli di pasar\nNama: anonım", {"anonymous": True, "text": "pungli di pasar\nNama"},
                 id="name-line"),
    pytest.param("ıdentıtas saya dırahasıakan. Pungli di kelurahan", {
        "anonymous": True, "text": "ıdentıtas saya dırahasıakan. Pungli di kelurahan"}, id="asked-in-a-phrase"),
    # only the reading is folded: a word of Turkish prose stays as typed, no flag in it
    pytest.param("Işık jalan mati di gang 5", {"anonymous": False, "confidential": False,
                                              "text": "Işık jalan mati di gang 5"}, id="turkish-prose"),
])
def test_a_flag_word_typed_with_a_dotless_i_is_read_as_with_an_i(text: str, read: dict[str, object]) -> None:
    """A Turkish keyboard types the dotless "ı" for "i" ("anonım", "rahasıa"): it lowercases to itself, and no table
    held the word, as with the dotted capital "İ". Each was a named or public report, the flag word kept as the
    citizen's; the citizen's text is kept as typed."""
    parsed = parse_text(text)
    assert {field: getattr(parsed, field) for field in read} == read


def _sms(text: str) -> Normalized:
    return normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="SM1", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC)))


@pytest.mark.parametrize("dash", UNICODE_DASHES.values(), ids=UNICODE_DASHES.keys())
@pytest.mark.parametrize(("form", "action", "tracking_id", "text"), [
    pytest.param("CEK {grouped}", Action.STATUS, VALID, None, id="cek"),
    pytest.param("cek #{grouped}", Action.STATUS, VALID, None, id="cek-hash"),
    pytest.param("{grouped}", Action.STATUS, VALID, None, id="bare-id"),
    pytest.param("{grouped} jalan masih rusak", Action.FOLLOW_UP, VALID, "jalan masih rusak", id="follow-up"),
    pytest.param("CEK {bad_grouped}", Action.BAD_TRACKING_ID, BAD, None, id="cek-bad-check-digit"),
    pytest.param("17{dash}08{dash}2025 ada pungli di kelurahan", Action.REPORT, None,
                 "17{dash}08{dash}2025 ada pungli di kelurahan", id="date-is-prose"),
])
def test_an_id_grouped_with_any_dash_is_read_as_with_a_hyphen_minus(form: str, action: Action, tracking_id: str | None,
                                                                    text: str | None, dash: str) -> None:
    """"CEK 1234–5674": a phone's autocorrect turns the "-" between digit groups into an en dash, another keyboard
    types a Unicode hyphen or a minus sign. Not read as "-", the status query was filed as a new report."""
    fields = {"dash": dash, "grouped": f"{VALID[:4]}{dash}{VALID[4:]}", "bad_grouped": f"{BAD[:4]}{dash}{BAD[4:]}"}
    normalized = _sms(form.format(**fields))
    if text is not None:  # filed: a report, or a follow-up to the ID's report
        assert normalized.draft is not None and normalized.query is None
        assert (normalized.draft.text, normalized.draft.follow_up_of) == (text.format(**fields), tracking_id)
    else:
        assert normalized.query is not None and normalized.draft is None
        assert (normalized.query.action, normalized.query.tracking_id) == (action, tracking_id)


# Digits of the first ID minted from the default intake.id_start (1,000,000); a 7-digit number whose check digit holds.
SHORTEST = len(format_tracking_id(1_000_000))
SHORT_VALID = format_tracking_id(150_000)
# A round amount whose check digit holds: a Tracking ID's shape, read as one before a unit word.
VALID_AMOUNT = "12500000"


@pytest.mark.parametrize(
    ("text", "shortest_id", "action", "tracking_id"),
    [
        ("500000 diminta petugas untuk KTP", SHORTEST, Action.REPORT, None),
        ("1500000 diminta petugas untuk sertifikat", SHORTEST, Action.REPORT, None),
        ("500 000 diminta petugas", SHORTEST, Action.REPORT, None),
        (f"{SHORT_VALID} diminta petugas", SHORTEST, Action.REPORT, None),
        ("1234567: nomor perkara saya belum diproses", SHORTEST, Action.REPORT, None),
        # Alone or after a status command, a number of an ID's shape is an ID, mistyped or not.
        ("1500000", SHORTEST, Action.BAD_TRACKING_ID, "1500000"),
        (SHORT_VALID, SHORTEST, Action.STATUS, SHORT_VALID),
        ("cek 1500000", SHORTEST, Action.BAD_TRACKING_ID, "1500000"),
        # As long as a minted ID: the check digit decides.
        (f"{BAD} jalan masih rusak", SHORTEST, Action.BAD_TRACKING_ID, BAD),
        (f"{VALID} tambahan foto", SHORTEST, Action.FOLLOW_UP, VALID),
        # With cells another cell's IDs may be shorter: every ID shape is read as one.
        ("1500000 diminta petugas", MIN_LENGTH, Action.BAD_TRACKING_ID, "1500000"),
        (f"{SHORT_VALID} tambahan foto", MIN_LENGTH, Action.FOLLOW_UP, SHORT_VALID),
    ],
    ids=["amount-6", "amount-7", "amount-grouped", "amount-check-digit-holds", "case-number", "alone-bad",
         "alone-valid", "cek-short", "id-length-bad", "id-length-follow-up", "cells-bad", "cells-follow-up"],
)
def test_a_leading_number_shorter_than_any_minted_id_is_prose(text: str, shortest_id: int, action: Action,
                                                              tracking_id: str | None) -> None:
    """Tracking IDs are minted from intake.id_start: a shorter number opening a complaint is an amount or a case
    number, and refused as a mistyped ID the complaint would never be filed."""
    parsed = parse_text(text, shortest_id=shortest_id)
    assert (parsed.action, parsed.tracking_id) == (action, tracking_id)
    assert all(word in parsed.text for word in text.split() if "anon" in word.lower())


# An amount of eight digits whose last one happens to be its check digit: it has a Tracking ID's shape and check.
AMOUNT = format_tracking_id(2_500_000)


@pytest.mark.parametrize(("text", "action", "tracking_id", "body"), [
    # Inside a sentence, after the citizen's own words, a number is theirs: the grammar looks for an ID only first.
    pytest.param(f"LAPOR pungli {AMOUNT} di kelurahan", Action.REPORT, None, f"pungli {AMOUNT} di kelurahan",
                 id="after-a-kind-and-a-word"),
    pytest.param(f"pungli Rp {AMOUNT} di kelurahan", Action.REPORT, None, f"pungli Rp {AMOUNT} di kelurahan",
                 id="no-keyword"),
    pytest.param(f"ANONIM pungli {AMOUNT} di kelurahan", Action.REPORT, None, f"pungli {AMOUNT} di kelurahan",
                 id="after-a-flag-and-a-word"),
    pytest.param(f"LAPOR pungli\n{AMOUNT} di kelurahan", Action.REPORT, None, f"pungli\n{AMOUNT} di kelurahan",
                 id="first-on-a-later-line"),
    pytest.param(f"Cek pungli {AMOUNT} di kelurahan", Action.REPORT, None, f"Cek pungli {AMOUNT} di kelurahan",
                 id="a-status-word-then-prose"),
    pytest.param(f"status pembayaran {AMOUNT} belum jelas", Action.REPORT, None,
                 f"status pembayaran {AMOUNT} belum jelas", id="a-status-word-then-a-noun"),
    pytest.param(f"Nomor rekening {AMOUNT} diminta transfer", Action.REPORT, None,
                 f"Nomor rekening {AMOUNT} diminta transfer", id="a-filler-then-a-noun"),
    pytest.param(f"laporan saya {AMOUNT} belum diproses", Action.REPORT, None, f"saya {AMOUNT} belum diproses",
                 id="named-with-words-after"),
    pytest.param(f"1708 pungli {AMOUNT} di pasar", Action.REPORT, None, f"1708 pungli {AMOUNT} di pasar",
                 id="our-short-code-then-prose"),
    pytest.param(f"LAPOR: {AMOUNT} diminta petugas", Action.REPORT, None, f"{AMOUNT} diminta petugas",
                 id="first-after-a-kind-word"),
    # First in the message (after `#`, our short code, a status command or words naming an ID), the same digits are
    # an ID: the citizen's way to point at a report. One never minted is filed as a new report (gateway/followups.py),
    # the number kept in its text.
    pytest.param(f"{AMOUNT} diminta petugas", Action.FOLLOW_UP, AMOUNT, "diminta petugas", id="first"),
    pytest.param(f"#{AMOUNT} foto sudah dikirim", Action.FOLLOW_UP, AMOUNT, "foto sudah dikirim", id="hash-first"),
    pytest.param(f"1708 {AMOUNT} tambahan", Action.FOLLOW_UP, AMOUNT, "tambahan", id="after-our-short-code"),
    pytest.param(f"CEK {AMOUNT}", Action.STATUS, AMOUNT, "", id="after-a-status-command"),
    pytest.param(f"CEK ({AMOUNT})", Action.STATUS, AMOUNT, "", id="in-brackets-after-a-status-command"),
    pytest.param(f"ID [{AMOUNT}]", Action.STATUS, AMOUNT, "", id="named-id-in-brackets"),
    # help's "<nomor lacak>" marks ("Nomor lacak: <12345678>."): a ">" is no punctuation, and it was a report
    pytest.param(f"Nomor lacak: <{AMOUNT}>.", Action.STATUS, AMOUNT, "", id="named-id-in-angle-brackets"),
    pytest.param(f"Nomor lacak: {AMOUNT}", Action.STATUS, AMOUNT, "", id="named-nomor-lacak"),
])
def test_a_number_inside_a_sentence_is_text_and_one_first_is_an_id(text: str, action: Action, tracking_id: str | None,
                                                                    body: str) -> None:
    """An amount with an ID's shape and a check digit that holds (one in ten do) is read as an ID only where a
    citizen points at a report: first in the message, or after a command or words naming one."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.tracking_id, parsed.text) == (action, tracking_id, body)


# A valid ID whose first digits are our short code ("17080008").
ID_1708 = format_tracking_id(1708000)


@pytest.mark.parametrize(("text", "shortest_id", "action", "tracking_id", "body"), [
    # Our short code, then a number and the complaint's words: a report of the whole text, as "1708 jalan rusak" is.
    # Read as one run of digits, each was "not valid" (an ID 170815000000) and never filed.
    pytest.param("1708 15.000.000 diminta petugas kelurahan", 8, Action.REPORT, None,
                 "1708 15.000.000 diminta petugas kelurahan", id="an-amount"),
    pytest.param("1708 10.30 petugas minta uang", 8, Action.REPORT, None, "1708 10.30 petugas minta uang",
                 id="a-time"),
    pytest.param("1708 17.08.2025 ada pungli di kelurahan", 8, Action.REPORT, None,
                 "1708 17.08.2025 ada pungli di kelurahan", id="a-date"),
    pytest.param("1708 1945 merdeka kok masih pungli", 8, Action.REPORT, None, "1708 1945 merdeka kok masih pungli",
                 id="a-year"),
    pytest.param("1708 003/005 jalan rusak", 6, Action.REPORT, None, "1708 003/005 jalan rusak", id="rt-rw"),
    pytest.param("1708-15.000.000 diminta petugas", 8, Action.REPORT, None, "1708-15.000.000 diminta petugas",
                 id="a-dash-after-it"),
    pytest.param("1708 1708 15.000.000 diminta petugas", 8, Action.REPORT, None,
                 "1708 1708 15.000.000 diminta petugas", id="twice"),
    # With cells configured (a shorter ID may be minted), it went to a stranger's report 170817.
    pytest.param("1708 17 Agustus ada pungli", 6, Action.REPORT, None, "1708 17 Agustus ada pungli",
                 id="a-day-and-month"),
    pytest.param("1708 17 Agustus ada pungli", 8, Action.REPORT, None, "1708 17 Agustus ada pungli",
                 id="a-day-and-month-long-ids"),
    # A number after it read as without it: an ID stays one, typed in groups too.
    pytest.param(f"1708 {VALID} foto", 8, Action.FOLLOW_UP, VALID, "foto", id="an-id"),
    pytest.param(f"1708 {VALID[:4]} {VALID[4:]} foto", 8, Action.FOLLOW_UP, VALID, "foto", id="a-grouped-id"),
    pytest.param(f"1708 {VALID}", 8, Action.STATUS, VALID, "", id="an-id-alone"),
    pytest.param(f"Tambahan: 1708 {VALID} foto", 8, Action.FOLLOW_UP, VALID, "foto", id="after-help-s-label"),
    pytest.param(f"#1708 {VALID} foto", 8, Action.FOLLOW_UP, VALID, "foto", id="hash-first"),
    # A valid ID opening with our short code: one run, it is the ID; typed apart with words after it, the report
    # never goes to what may be a stranger's case (the number stays in its text); alone, or before a status command,
    # it is asked about as an ID typed in groups is.
    pytest.param(f"{ID_1708} jalan masih rusak", 8, Action.FOLLOW_UP, ID_1708, "jalan masih rusak", id="id-1708"),
    pytest.param(f"{ID_1708[:4]} {ID_1708[4:]} jalan masih rusak", 8, Action.REPORT, None,
                 f"{ID_1708[:4]} {ID_1708[4:]} jalan masih rusak", id="id-1708-apart-then-words"),
    pytest.param(f"{ID_1708[:4]} {ID_1708[4:]}", 8, Action.STATUS, ID_1708, "", id="id-1708-apart-alone"),
    pytest.param(f"{ID_1708[:4]} {ID_1708[4:]} cek status", 8, Action.STATUS, ID_1708, "",
                 id="id-1708-apart-then-a-status-command"),
])
def test_our_short_code_before_a_number_is_our_address_not_digits_of_an_id(
        text: str, shortest_id: int, action: Action, tracking_id: str | None, body: str) -> None:
    """"1708 15.000.000 diminta ...": the short code the citizen sends to, typed first, is the address; the number
    after it is read as it is without it. Joined to it as one ID, the complaint was answered "not valid" and never
    filed, or added to a stranger's report."""
    parsed = parse_text(text, shortest_id=shortest_id)
    assert (parsed.action, parsed.tracking_id, parsed.text) == (action, tracking_id, body)


@pytest.mark.parametrize(("text", "shortest_id", "anonymous", "confidential"), [
    pytest.param("1708 15.000.000 ANONIM diminta kepala desa", 8, True, False, id="an-amount"),
    pytest.param("1708 17 ANONIM RAHASIA Agustus ada pungli", 6, True, True, id="a-day"),
    pytest.param("#1708 17 ANONIM Agustus ada pungli", 6, True, False, id="hash-first"),
    pytest.param("#1708 17: RAHASIA Agustus ada pungli", 6, False, True, id="hash-first-colon"),
    pytest.param("1708 10.30 ANONIM kepala desa minta uang", 8, True, False, id="a-time"),
    pytest.param("1708 15.000.000 diminta kepala desa", 8, False, False, id="no-flag-word"),
    # A phone number there is the citizen's prose, the flag word after it theirs, as without our short code.
    pytest.param("1708 081234567890 ANONIM meneror saya", 8, False, False, id="a-phone-number"),
    pytest.param("1708 0812345678 ANONIM meneror saya", 8, False, False, id="a-phone-number-of-ten-digits"),
    pytest.param("#1708 081234567890 RAHASIA meneror saya", 6, False, False, id="hash-first-a-phone-number"),
    pytest.param("1708 021123456 ANONIM meneror saya", 8, False, False, id="a-phone-number-of-nine-digits"),
    # A group opening with 0 shorter than any Indonesian number is none: a date of six digits was one, its flag lost.
    pytest.param("1708 010825 ANONIM pungli di kantor", 8, True, False, id="a-date-of-six-digits"),
    pytest.param("1708 01082025 RAHASIA pungli di kantor", 6, False, True, id="a-date-of-eight-digits"),
    # after help's label for an addition, its colon too
    pytest.param("Tambahan: 1708 2025\nANONIM RAHASIA merdeka kok masih pungli", 8, True, True, id="label-a-year"),
    pytest.param("Tambahan: 1708 17 ANONIM Agustus ada pungli", 6, True, False, id="label-a-day"),
    pytest.param("Tambahan: 15.000.000 ANONIM diminta petugas", 8, True, False, id="label-an-amount"),
    # Glued to a pipe, as after an ID typed first: each was a named report.
    pytest.param("1708 0008 ANONIM|foto", 8, True, False, id="pipe-anonymous"),
    pytest.param("#1708 0008 RAHASIA|ada pungli", 8, False, True, id="pipe-confidential"),
    pytest.param("1708 17 RAHASIA|ada pungli", 6, False, True, id="pipe-a-day"),
    pytest.param("1708 0008 ANONIM RAHASIA|foto", 8, True, True, id="pipe-after-a-flag"),
    pytest.param("LAPOR 10000012 ANONIM|foto", 8, True, False, id="pipe-after-a-kind-word"),
    pytest.param("LAPOR 15.000.000 ANONIM|pungli", 8, True, False, id="pipe-after-an-amount"),
])
def test_flag_words_after_our_short_code_and_a_number_are_read(text: str, shortest_id: int, anonymous: bool,
                                                                confidential: bool) -> None:
    """The flag words after our short code and a number stay the report's wish, as they were while the two were read
    as one ID ("1708 17 ANONIM ..." an anonymous addition to report 170817): a report of the text, not named."""
    parsed = parse_text(text, shortest_id=shortest_id)
    assert (parsed.action, parsed.tracking_id, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, None, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("WBS 10 00 09 13 ANONIM kepala desa minta setoran", True, False, id="after-a-kind-word"),
    pytest.param("ADUAN 10 00 09 13 RAHASIA pungli", False, True, id="after-a-kind-word-rahasia"),
    pytest.param("TAMBAH 10 00 09 13 ANONIM foto", True, False, id="after-a-flag-opener"),
])
def test_flag_words_after_an_id_in_pairs_whose_shorter_run_is_valid_are_read(
        text: str, anonymous: bool, confidential: bool) -> None:
    """Where no ID shorter than eight digits is minted, a shorter run of an ID typed in pairs whose check digit holds
    (100009 of "10 00 09 13") cut it, and the flag word was read past "13": the whistleblower's report went named."""
    parsed = parse_text(text, shortest_id=8)
    assert (parsed.action, parsed.anonymous, parsed.confidential) == (Action.REPORT, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("Min, 2025 ANONIM pungli di pasar", True, False, id="a-year"),
    pytest.param("Min, 15.000.000 ANONIM diminta kades", True, False, id="an-amount"),
    pytest.param("Pak, 17 Agustus ANONIM kades minta setoran", True, False, id="day-month"),
    pytest.param("Selamat pagi, 2025 RAHASIA pungli", False, True, id="a-greeting-rahasia"),
    # As without the greeting: a word of the citizen's between, a negation, a phone number keep the flag word theirs.
    pytest.param("Min, 2025 nomor anonim meneror saya", False, False, id="a-year-then-prose"),
    pytest.param("Min, 2025 BUKAN ANONIM pungli", False, False, id="negated"),
    pytest.param("Pak, 0812345678 ANONIM meneror", False, False, id="a-phone-number"),
    # A date whose day opens with 0 is a date, no phone number (9 days in 31 went named).
    pytest.param("Min, 01.08.2025 ANONIM pungli", True, False, id="a-date-opening-with-0"),
    pytest.param("Pak, 05.08.25 RAHASIA ada pungli", False, True, id="a-short-date-opening-with-0"),
])
def test_flag_words_after_a_greeting_and_a_number_are_read(text: str, anonymous: bool, confidential: bool) -> None:
    """A greeting before a number and a flag word: read past for an ID or a kind word, but the flags after a number
    opening the words past it were not, and the whistleblower's report went named. The text stays as typed."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, text, anonymous, confidential)


# A valid ID of 8 digits: a stranger's report, maybe.
STRANGER = "12345671"


@pytest.mark.parametrize(("text", "shortest_id", "action", "tracking_id", "body"), [
    # A short group of digits before an amount or before a number of an ID's shape is a number of its own (a year, a
    # count, a day), never digits of one ID with it: each was answered "not valid" (202515000000, 1712345671) and
    # never filed. Our short code before them is read past as before, and a report of the whole text is filed: the
    # words are not added to the report a valid ID after the short group names, which may be a stranger's.
    pytest.param("1708 2025 15.000.000 diminta petugas", 8, Action.REPORT, None,
                 "1708 2025 15.000.000 diminta petugas", id="short-code-year-amount"),
    pytest.param("2025 15.000.000 diminta petugas", 8, Action.REPORT, None, "2025 15.000.000 diminta petugas",
                 id="year-amount"),
    pytest.param("17 15.000.000 diminta petugas", 6, Action.REPORT, None, "17 15.000.000 diminta petugas",
                 id="short-group-amount-short-ids"),
    pytest.param(f"1708 17 {STRANGER} foto", 8, Action.REPORT, None, f"1708 17 {STRANGER} foto",
                 id="short-code-short-group-id"),
    pytest.param(f"1708 17 {STRANGER} foto", 6, Action.REPORT, None, f"1708 17 {STRANGER} foto",
                 id="short-code-short-group-id-short-ids"),
    pytest.param(f"17 {STRANGER} foto", 8, Action.REPORT, None, f"17 {STRANGER} foto", id="short-group-id"),
    pytest.param(f"2025 {DOTTED} foto", 8, Action.REPORT, None, f"2025 {DOTTED} foto", id="year-dotted-id"),
    # A date typed with spaces opening the text: its groups joined were the ID 17082025, whose check digit holds,
    # and the complaint was added to that report. Day and month in either order, the year first or last, of two
    # digits where a shorter ID may be minted.
    pytest.param("17 08 2025 jalan masih rusak", 8, Action.REPORT, None, "17 08 2025 jalan masih rusak",
                 id="date-with-spaces"),
    pytest.param("17 08 2025", 8, Action.REPORT, None, "17 08 2025", id="date-with-spaces-alone"),
    pytest.param("1708 17 08 2025 jalan masih rusak", 8, Action.REPORT, None, "1708 17 08 2025 jalan masih rusak",
                 id="short-code-date-with-spaces"),
    pytest.param("2025 08 17 jalan masih rusak", 8, Action.REPORT, None, "2025 08 17 jalan masih rusak",
                 id="year-first"),
    pytest.param("12 25 2025 jalan masih rusak", 8, Action.REPORT, None, "12 25 2025 jalan masih rusak",
                 id="month-first"),
    pytest.param("17 8 2025 jalan masih rusak", 6, Action.REPORT, None, "17 8 2025 jalan masih rusak",
                 id="one-digit-month-short-ids"),
    pytest.param("17 08 25 jalan masih rusak", 6, Action.REPORT, None, "17 08 25 jalan masih rusak",
                 id="two-digit-year-short-ids"),
    pytest.param("Tambahan: 17 08 2025 jalan masih rusak", 8, Action.REPORT, None,
                 "Tambahan: 17 08 2025 jalan masih rusak", id="after-help-s-label"),
    # An ID typed in groups stays one, and so does one after our short code; groups that are no date do not change.
    pytest.param(f"{VALID[:4]} {VALID[4:]} foto", 8, Action.FOLLOW_UP, VALID, "foto", id="an-id-in-groups"),
    pytest.param(f"{VALID[:4]} {VALID[4:]}", 8, Action.STATUS, VALID, "", id="an-id-in-groups-alone"),
    pytest.param(f"1708 {STRANGER} foto", 8, Action.FOLLOW_UP, STRANGER, "foto", id="short-code-id"),
    pytest.param(f"1708 {VALID[:4]} {VALID[4:]} foto", 8, Action.FOLLOW_UP, VALID, "foto",
                 id="short-code-an-id-in-groups"),
    pytest.param(f"Tambahan: {VALID[:4]} {VALID[4:]} foto", 8, Action.FOLLOW_UP, VALID, "foto",
                 id="an-id-in-groups-after-help-s-label"),
    # An ID typed in pairs, as it is read out, holds a date's shape with a year of two digits: it stays one ID (cut
    # to its first pair, it was a new named report, "1708 <pairs>" a case holding digits alone); so does one with a
    # date after it, whose last pair and the date's first made a date; and a group opening with 0 is no ID of its own.
    pytest.param("10 01 23 46 foto jalannya", 8, Action.FOLLOW_UP, "10012346", "foto jalannya", id="an-id-in-pairs"),
    pytest.param("10 01 23 46", 8, Action.STATUS, "10012346", "", id="an-id-in-pairs-alone"),
    pytest.param("1708 13 07 95 87", 8, Action.STATUS, "13079587", "", id="short-code-an-id-in-pairs"),
    pytest.param("Min, 13 07 95 87 ANONIM foto", 8, Action.FOLLOW_UP, "13079587", "foto",
                 id="greeting-an-id-in-pairs-anonim"),
    pytest.param("12 36 89 03 17 08 2025 belum diperbaiki", 8, Action.FOLLOW_UP, "12368903",
                 "17 08 2025 belum diperbaiki", id="an-id-in-pairs-then-a-date"),
    pytest.param("12 36 89 03 17 08 2025 belum diperbaiki", 6, Action.FOLLOW_UP, "12368903",
                 "17 08 2025 belum diperbaiki", id="an-id-in-pairs-then-a-date-short-ids"),
    pytest.param("1201 1968 17 08 2025 belum diperbaiki", 8, Action.FOLLOW_UP, "12011968",
                 "17 08 2025 belum diperbaiki", id="an-id-in-groups-then-a-date"),
    pytest.param("10 000004 foto", 8, Action.FOLLOW_UP, "10000004", "foto", id="a-group-opening-with-0"),
    # A phone number's group is a number of its own all the same: joined, "not valid" and never filed.
    pytest.param("3 0812345678 meneror saya", 8, Action.REPORT, None, "3 0812345678 meneror saya",
                 id="a-short-group-then-a-phone-number"),
    # A shorter run whose check digit happens to hold (536634) no longer cuts an ID typed in pairs, nor our short
    # code's run (170849) the ID typed after it: each was a new named report holding the ID.
    pytest.param("53 66 34 00 foto jalannya", 8, Action.FOLLOW_UP, "53663400", "foto jalannya",
                 id="an-id-in-pairs-a-shorter-run-valid"),
    pytest.param("#1708 49 60 22 94 foto jalannya", 8, Action.FOLLOW_UP, "49602294", "foto jalannya",
                 id="hash-short-code-an-id-in-pairs"),
    pytest.param("Tambahan: 1708 13 07 95 87 foto", 8, Action.FOLLOW_UP, "13079587", "foto",
                 id="label-short-code-an-id-in-pairs"),
    # After a status command the number is asked about as typed.
    pytest.param("CEK 17 08 2025", 8, Action.STATUS, "17082025", "", id="after-a-status-command"),
    # An ID in pairs there is read whole where no shorter ID is minted: it asked about 100009, whose check digit holds.
    pytest.param("CEK 10 00 09 13", 8, Action.STATUS, "10000913", "", id="after-a-status-command-an-id-in-pairs"),
    pytest.param("STATUS 10 00 09 13 foto jalannya", 8, Action.STATUS, "10000913", "foto jalannya",
                 id="after-a-status-command-an-id-in-pairs-words"),
])
def test_a_short_group_or_a_date_with_spaces_opening_a_text_is_no_tracking_id(
        text: str, shortest_id: int, action: Action, tracking_id: str | None, body: str) -> None:
    """Groups of digits typed apart are joined into a Tracking ID ("1000 0012"), but not a group that is a number of
    its own (an amount, a number of an ID's shape) with those before it, nor a date's groups: a report of the text."""
    assert is_valid_tracking_id("17082025") and is_valid_tracking_id(STRANGER)
    parsed = parse_text(text, shortest_id=shortest_id)
    assert (parsed.action, parsed.tracking_id, parsed.text) == (action, tracking_id, body)


@pytest.mark.parametrize("text", ["17 08 2025 jalan masih rusak", "1708 2025 15.000.000 diminta petugas",
                                  f"1708 17 {STRANGER} foto"])
def test_a_date_with_spaces_or_a_short_group_files_the_complaint(text: str) -> None:
    """Through the pipeline: a draft of the whole text, no "not valid" answer and no addition to another report."""
    normalized = _sms(text)
    assert (normalized.query, normalized.mistyped_id) == (None, None)
    assert normalized.draft is not None and (normalized.draft.text, normalized.draft.follow_up_of) == (text, None)


def test_our_short_code_before_an_amount_files_the_complaint() -> None:
    """Through the pipeline: a draft of the whole text, no "not valid" answer."""
    normalized = _sms("1708 15.000.000 diminta petugas kelurahan")
    assert (normalized.query, normalized.mistyped_id) == (None, None)
    assert normalized.draft is not None and normalized.draft.text == "1708 15.000.000 diminta petugas kelurahan"


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("key", ["ack", "ack_anonymous", "ack_confidential", "ack_anonymous_confidential",
                                 "ack_incomplete", "ack_incomplete_confidential", "duplicate",
                                 "duplicate_anonymous", "duplicate_confidential",
                                 "duplicate_anonymous_confidential", "follow_up", "follow_up_unknown",
                                 "follow_up_unknown_anonymous", "follow_up_unknown_confidential",
                                 "follow_up_unknown_anonymous_confidential", "bad_tracking_id_photo",
                                 "bad_tracking_id_photo_confidential"])
def test_acknowledgements_fit_one_gsm7_sms_with_the_longest_tracking_id(key: str, language: str) -> None:
    longest = format_tracking_id(10 ** (MAX_LENGTH - 1) - 1)
    assert len(longest) == MAX_LENGTH
    text = render(key, language, tracking_id=longest, follow_up_of=longest, typed_id=longest)
    assert is_gsm7(text) and septets(text) <= SINGLE_PART
    assert len(reply_parts(text, "r")) == 1


# Every reply key that goes by SMS (the others are mail, SMTP answers, public replies and marks in a report), and how
# many GSM-7 parts it may take: one, help's usage text too (it took two, sent for every greeting and empty SMS, and
# a feature phone showed them apart). A key added to gateway/tables.py is checked here without a line of its own.
SMS_PART_BUDGET: dict[str, int] = {}
SMS_KEYS = sorted(key for key in REPLY_FIELDS if not key.startswith(("email_", "smtp_", "social_", "report_")))


def longest_fields(key: str, language: str) -> list[dict[str, str]]:
    """The longest values each field of an SMS reply can take: a minted Tracking ID of MAX_LENGTH digits, a mistyped
    one as the reply repeats it (`shown_typed_id`: cut past MAX_LENGTH with "...", 3 characters more; it is
    `tracking_id` in `bad_tracking_id`), every status name of the language."""
    minted, typed = format_tracking_id(10 ** (MAX_LENGTH - 1) - 1), shown_typed_id("9" * 40)
    return [{"tracking_id": typed if key == "bad_tracking_id" else minted, "follow_up_of": minted,
             "typed_id": typed, "status": status_name(status, language)}
            for status in load_replies()["status_names"][language]]


def test_the_sms_keys_are_the_replies_the_sms_channels_send() -> None:
    assert {"ack", "ack_confidential", "ack_anonymous_confidential", "duplicate_anonymous_confidential", "help",
            "bad_tracking_id", "status", "sms_kept_unfiled"} <= set(SMS_KEYS)
    assert not {key for key in SMS_KEYS if key.startswith(("email", "smtp", "social", "report"))}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("key", SMS_KEYS)
def test_every_sms_reply_fits_its_part_budget_in_gsm7_with_its_longest_fields(key: str, language: str) -> None:
    """GSM-7 as written in config/replies.toml (a curly quote or an en dash there would make it UCS-2 but for the
    senders' replacement, which may make it longer: "..." for one character), and within its budget of 160-septet
    SMS (153 per part beyond one) with the longest Tracking ID, mistyped ID and status name it can hold."""
    template = load_replies()[key][language]
    assert is_gsm7(template), f"{key}.{language} has a character outside GSM-7"
    for fields in longest_fields(key, language):
        text = render(key, language, **fields)
        parts = reply_parts(text, "r")
        assert "".join(part.text for part in parts) == text  # nothing replaced or dropped on the way out
        assert len(parts) <= SMS_PART_BUDGET.get(key, 1), (key, language, septets(text))


# Our answers that name the citizen's report (`bad_tracking_id`: the ID they mistyped, read back as mistyped again).
NAMING_A_REPORT = ("{tracking_id}", "{follow_up_of}")


def test_every_answer_naming_a_report_is_read_back_as_pointing_at_it() -> None:
    """A reply added to replies.toml that names a report, left out of the grammar's list of our answers, made a copy
    of it sent back a new report of our own words ([duplicate_anonymous] was)."""
    names = {key for key, table in load_replies().items() if isinstance(table, dict)
             and any(isinstance(text, str) and any(field in text for field in NAMING_A_REPORT)
                     for text in table.values())}
    sms = {key for key in names if not key.startswith(("email_", "social_"))}
    assert sms == set(SMS_REPLY_KEYS)
    # In public, "not valid" names no report but the number the citizen typed, read back as mistyped again.
    typed = {key for key, table in load_replies().items() if key.startswith("social_")
             and any(isinstance(text, str) and "{typed_id}" in text for text in table.values())}
    assert {key for key in names | typed if key.startswith("social_")} == set(PUBLIC_REPLY_KEYS)


# Our SMS answers that name a report, word for word as citizens hold them on their phones (this release's, and any
# earlier wording still read). A citizen forwards or copies one back ("Fwd: ...", words of theirs after it), and the
# grammar reads it as ours (`SMS_REPLY_KEYS`), built from config/replies.toml as it is now: a rewording there left the
# old text unread, and a copy of it became a new case of our own words under the citizen's number (a plainer
# [status_unknown], "ke 1708" made "kirim ke 1708" in [duplicate], did). A row stays when its reply is reworded; the
# grammar then needs to know the former text too.
SMS_ANSWERS_HELD = [
    pytest.param("ack_incomplete",
                 "LAPOR! Sebagian SMS Anda tidak sampai; sisanya dicatat sebagai laporan anonim. Nomor lacak: "
                 "{tracking_id}. Susulan: ketik {tracking_id} <isi> kirim ke 1708.", id="ack_incomplete-id"),
    pytest.param("ack_incomplete",
                 "LAPOR! Part of your SMS did not arrive; the rest is filed as an anonymous report. Tracking ID: "
                 "{tracking_id}. To add, text {tracking_id} <text> to 1708.", id="ack_incomplete-en"),
    pytest.param("ack_incomplete_confidential",
                 "LAPOR! Sebagian SMS Anda tidak sampai; sisanya dicatat anonim & rahasia. Nomor lacak: "
                 "{tracking_id}. Susulan: ketik {tracking_id} <isi> kirim ke 1708.",
                 id="ack_incomplete_confidential-id"),
    pytest.param("ack_incomplete_confidential",
                 "LAPOR! Part of your SMS did not arrive; the rest is filed anonymous and confidential. Tracking ID: "
                 "{tracking_id}. To add, text {tracking_id} <text> to 1708.", id="ack_incomplete_confidential-en"),
    pytest.param("ack",
                 "LAPOR! Laporan Anda diterima. Nomor lacak: {tracking_id}. Cek status: ketik CEK {tracking_id} kirim "
                 "ke 1708.", id="ack-id"),
    pytest.param("ack",
                 "LAPOR! Your report was received. Tracking ID: {tracking_id}. For its status, text CEK {tracking_id} "
                 "to 1708.", id="ack-en"),
    pytest.param("ack_anonymous",
                 "LAPOR! Laporan anonim Anda diterima; identitas Anda dirahasiakan. Nomor lacak: {tracking_id}. Cek "
                 "status: ketik CEK {tracking_id} kirim ke 1708.", id="ack_anonymous-id"),
    pytest.param("ack_anonymous",
                 "LAPOR! Your anonymous report was received; your identity is kept secret. Tracking ID: "
                 "{tracking_id}. For its status, text CEK {tracking_id} to 1708.", id="ack_anonymous-en"),
    pytest.param("ack_confidential",
                 "LAPOR! Laporan rahasia Anda diterima; isinya tidak dipublikasikan. Nomor lacak: {tracking_id}. Cek "
                 "status: ketik CEK {tracking_id} kirim ke 1708.", id="ack_confidential-id"),
    pytest.param("ack_confidential",
                 "LAPOR! Your confidential report was received; its content is not made public. Tracking ID: "
                 "{tracking_id}. For its status, text CEK {tracking_id} to 1708.", id="ack_confidential-en"),
    pytest.param("ack_anonymous_confidential",
                 "LAPOR! Laporan anonim & rahasia Anda diterima; identitas Anda dirahasiakan. Nomor lacak: "
                 "{tracking_id}. Cek status: ketik CEK {tracking_id} kirim ke 1708.",
                 id="ack_anonymous_confidential-id"),
    pytest.param("ack_anonymous_confidential",
                 "LAPOR! Your anonymous, confidential report was received; identity kept secret. Tracking ID: "
                 "{tracking_id}. For its status, text CEK {tracking_id} to 1708.", id="ack_anonymous_confidential-en"),
    pytest.param("duplicate_confidential",
                 "LAPOR! Laporan rahasia ini sudah kami terima; isinya tidak dipublikasikan. Nomor lacak: "
                 "{tracking_id}. Cek status: ketik CEK {tracking_id} kirim ke 1708.", id="duplicate_confidential-id"),
    pytest.param("duplicate_confidential",
                 "LAPOR! We already have this confidential report; its content is not made public. Tracking ID: "
                 "{tracking_id}. For its status, text CEK {tracking_id} to 1708.", id="duplicate_confidential-en"),
    pytest.param("duplicate_anonymous_confidential",
                 "LAPOR! Laporan anonim & rahasia ini sudah kami terima; identitas dirahasiakan. Nomor lacak: "
                 "{tracking_id}. Cek status: ketik CEK {tracking_id} kirim ke 1708.",
                 id="duplicate_anonymous_confidential-id"),
    pytest.param("duplicate_anonymous_confidential",
                 "LAPOR! We already have this anonymous, confidential report; identity kept secret. Tracking ID: "
                 "{tracking_id}. For its status, text CEK {tracking_id} to 1708.",
                 id="duplicate_anonymous_confidential-en"),
    pytest.param("duplicate",
                 "LAPOR! Laporan ini sudah kami terima. Nomor lacak: {tracking_id}. Cek status: ketik CEK "
                 "{tracking_id} ke 1708.", id="duplicate-id"),
    pytest.param("duplicate",
                 "LAPOR! We already have this report. Tracking ID: {tracking_id}. For its status, text CEK "
                 "{tracking_id} to 1708.", id="duplicate-en"),
    pytest.param("duplicate_anonymous",
                 "LAPOR! Laporan anonim ini sudah kami terima; identitas Anda dirahasiakan. Nomor lacak: "
                 "{tracking_id}. Cek status: ketik CEK {tracking_id} ke 1708.", id="duplicate_anonymous-id"),
    pytest.param("duplicate_anonymous",
                 "LAPOR! We already have this anonymous report; your identity is kept secret. Tracking ID: "
                 "{tracking_id}. For its status, text CEK {tracking_id} to 1708.", id="duplicate_anonymous-en"),
    pytest.param("follow_up",
                 "LAPOR! Tambahan untuk laporan {follow_up_of} diterima. Terima kasih.", id="follow_up-id"),
    pytest.param("follow_up",
                 "LAPOR! Your addition to report {follow_up_of} was received. Thank you.", id="follow_up-en"),
    pytest.param("follow_up_unknown",
                 "LAPOR! Laporan {follow_up_of} tidak ditemukan. Pesan Anda dicatat sebagai laporan baru. Nomor "
                 "lacak: {tracking_id}.", id="follow_up_unknown-id"),
    pytest.param("follow_up_unknown",
                 "LAPOR! No report {follow_up_of} was found. Your message was filed as a new report. Tracking ID: "
                 "{tracking_id}.", id="follow_up_unknown-en"),
    pytest.param("follow_up_unknown_anonymous",
                 "LAPOR! Laporan {follow_up_of} tidak ditemukan. Pesan Anda dicatat sebagai laporan anonim baru. "
                 "Nomor lacak: {tracking_id}.", id="follow_up_unknown_anonymous-id"),
    pytest.param("follow_up_unknown_anonymous",
                 "LAPOR! No report {follow_up_of} was found. Your message was filed as a new anonymous report. "
                 "Tracking ID: {tracking_id}.", id="follow_up_unknown_anonymous-en"),
    pytest.param("follow_up_unknown_confidential",
                 "LAPOR! Laporan {follow_up_of} tidak ditemukan. Pesan Anda dicatat sebagai laporan rahasia baru; "
                 "isinya tidak dipublikasikan. Nomor lacak: {tracking_id}.", id="follow_up_unknown_confidential-id"),
    pytest.param("follow_up_unknown_confidential",
                 "LAPOR! No report {follow_up_of} was found. Your message was filed as a new confidential report; its "
                 "content is not made public. Tracking ID: {tracking_id}.", id="follow_up_unknown_confidential-en"),
    pytest.param("follow_up_unknown_anonymous_confidential",
                 "LAPOR! Laporan {follow_up_of} tidak ditemukan. Pesan Anda dicatat sebagai laporan anonim & rahasia "
                 "baru; identitas dirahasiakan. Nomor lacak: {tracking_id}.",
                 id="follow_up_unknown_anonymous_confidential-id"),
    pytest.param("follow_up_unknown_anonymous_confidential",
                 "LAPOR! No report {follow_up_of} was found. Your message was filed as a new anonymous, confidential "
                 "report; identity kept secret. Tracking ID: {tracking_id}.",
                 id="follow_up_unknown_anonymous_confidential-en"),
    pytest.param("bad_tracking_id_photo_confidential",
                 "LAPOR! Nomor lacak {typed_id} tidak valid. Pesan dan foto Anda dicatat sebagai laporan anonim & "
                 "rahasia baru. Nomor lacak: {tracking_id}.", id="bad_tracking_id_photo_confidential-id"),
    pytest.param("bad_tracking_id_photo_confidential",
                 "LAPOR! Tracking ID {typed_id} is not valid. Your message and photo were filed as a new anonymous, "
                 "confidential report. Tracking ID: {tracking_id}.", id="bad_tracking_id_photo_confidential-en"),
    pytest.param("bad_tracking_id_photo",
                 "LAPOR! Nomor lacak {typed_id} tidak valid. Pesan dan foto Anda dicatat sebagai laporan baru. Nomor "
                 "lacak: {tracking_id}.", id="bad_tracking_id_photo-id"),
    pytest.param("bad_tracking_id_photo",
                 "LAPOR! Tracking ID {typed_id} is not valid. Your message and photo were filed as a new report. "
                 "Tracking ID: {tracking_id}.", id="bad_tracking_id_photo-en"),
    pytest.param("bad_tracking_id",
                 "LAPOR! Nomor lacak {tracking_id} tidak valid. Periksa kembali nomornya (angka terakhir adalah angka "
                 "cek). Laporan baru? Ketik LAPOR <isi>.", id="bad_tracking_id-id"),
    pytest.param("bad_tracking_id",
                 "LAPOR! Tracking ID {tracking_id} is not valid. Please check the number (its last digit is a check "
                 "digit). A new report? Text REPORT <text>.", id="bad_tracking_id-en"),
    pytest.param("status",
                 "LAPOR! Laporan {tracking_id}: {status}.", id="status-id"),
    pytest.param("status",
                 "LAPOR! Report {tracking_id}: {status}.", id="status-en"),
    pytest.param("status_retry",
                 "LAPOR! Status laporan {tracking_id} belum bisa dicek saat ini. Silakan kirim CEK {tracking_id} lagi "
                 "nanti.", id="status_retry-id"),
    pytest.param("status_retry",
                 "LAPOR! The status of report {tracking_id} cannot be checked right now. Please send CEK "
                 "{tracking_id} later.", id="status_retry-en"),
    pytest.param("status_pending",
                 "LAPOR! Status laporan {tracking_id} sedang dicek, jawaban dikirim lewat SMS.",
                 id="status_pending-id"),
    pytest.param("status_pending",
                 "LAPOR! Checking the status of report {tracking_id}; the answer follows by SMS.",
                 id="status_pending-en"),
    pytest.param("status_unknown",
                 "LAPOR! Laporan {tracking_id} tidak ditemukan.", id="status_unknown-id"),
    pytest.param("status_unknown",
                 "LAPOR! Report {tracking_id} was not found.", id="status_unknown-en"),
    # In place of an acknowledgement flood control holds, once an hour a number.
    pytest.param("report_flood_notice",
                 "LAPOR! Laporan diterima, nomor lacak: {tracking_id}. Pesan dari nomor ini terlalu banyak: laporan "
                 "berikutnya tetap diterima, untuk sementara tanpa balasan.", id="report_flood_notice-id"),
    pytest.param("report_flood_notice",
                 "LAPOR! Report received, Tracking ID: {tracking_id}. Too many messages from this number: further "
                 "reports are still received, for now without an answer.", id="report_flood_notice-en"),
    pytest.param("report_flood_notice_anonymous",
                 "LAPOR! Laporan anonim diterima, identitas dirahasiakan. Nomor lacak: {tracking_id}. Pesan terlalu "
                 "banyak: laporan berikutnya diterima tanpa balasan dulu.", id="report_flood_notice_anonymous-id"),
    pytest.param("report_flood_notice_anonymous",
                 "LAPOR! Anonymous report received, identity kept secret. Tracking ID: {tracking_id}. Too many "
                 "messages: further reports received, unanswered for now.", id="report_flood_notice_anonymous-en"),
    pytest.param("report_flood_notice_confidential",
                 "LAPOR! Laporan rahasia diterima. Nomor lacak: {tracking_id}. Pesan terlalu banyak: laporan "
                 "berikutnya diterima tanpa balasan dulu.", id="report_flood_notice_confidential-id"),
    pytest.param("report_flood_notice_confidential",
                 "LAPOR! Confidential report received. Tracking ID: {tracking_id}. Too many messages: further reports "
                 "received, unanswered for now.", id="report_flood_notice_confidential-en"),
    pytest.param("report_flood_notice_anonymous_confidential",
                 "LAPOR! Laporan anonim & rahasia diterima, identitas dirahasiakan. Nomor lacak: {tracking_id}. Pesan "
                 "terlalu banyak: berikutnya tanpa balasan dulu.", id="report_flood_notice_anonymous_confidential-id"),
    pytest.param("report_flood_notice_anonymous_confidential",
                 "LAPOR! Anonymous, confidential report received, identity kept secret. Tracking ID: {tracking_id}. "
                 "Too many messages: next ones unanswered for now.",
                 id="report_flood_notice_anonymous_confidential-en"),
    # An addition with its own flags ("<id> ANONIM ...").
    pytest.param("follow_up_anonymous",
                 "LAPOR! Tambahan anonim untuk laporan {follow_up_of} diterima; identitas Anda dirahasiakan. Terima "
                 "kasih.", id="follow_up_anonymous-id"),
    pytest.param("follow_up_anonymous",
                 "LAPOR! Your anonymous addition to report {follow_up_of} was received; identity kept secret. Thank "
                 "you.", id="follow_up_anonymous-en"),
    pytest.param("follow_up_confidential",
                 "LAPOR! Tambahan rahasia untuk laporan {follow_up_of} diterima; isinya tidak dipublikasikan. Terima "
                 "kasih.", id="follow_up_confidential-id"),
    pytest.param("follow_up_confidential",
                 "LAPOR! Your confidential addition to report {follow_up_of} was received; content not made public. "
                 "Thank you.", id="follow_up_confidential-en"),
    pytest.param("follow_up_anonymous_confidential",
                 "LAPOR! Tambahan anonim & rahasia untuk laporan {follow_up_of} diterima; identitas dirahasiakan. "
                 "Terima kasih.", id="follow_up_anonymous_confidential-id"),
    pytest.param("follow_up_anonymous_confidential",
                 "LAPOR! Your anonymous, confidential addition to report {follow_up_of} was received; identity kept "
                 "secret. Thank you.", id="follow_up_anonymous_confidential-en"),
    # An addition that asked the status too ("CEK <id> <words>"): added, and the status, or that it follows.
    pytest.param("follow_up_status",
                 "LAPOR! Tambahan untuk laporan {follow_up_of} diterima. Status laporan: {status}.",
                 id="follow_up_status-id"),
    pytest.param("follow_up_status",
                 "LAPOR! Your addition to report {follow_up_of} was received. Report status: {status}.",
                 id="follow_up_status-en"),
    pytest.param("follow_up_status_anonymous",
                 "LAPOR! Tambahan anonim untuk laporan {follow_up_of} diterima; identitas Anda dirahasiakan. Status "
                 "laporan: {status}.",
                 id="follow_up_status_anonymous-id"),
    pytest.param("follow_up_status_anonymous",
                 "LAPOR! Your anonymous addition to report {follow_up_of} was received; identity kept secret. Report "
                 "status: {status}.",
                 id="follow_up_status_anonymous-en"),
    pytest.param("follow_up_status_confidential",
                 "LAPOR! Tambahan rahasia untuk laporan {follow_up_of} diterima; isinya tidak dipublikasikan. Status "
                 "laporan: {status}.",
                 id="follow_up_status_confidential-id"),
    pytest.param("follow_up_status_confidential",
                 "LAPOR! Your confidential addition to report {follow_up_of} was received; content not made public. "
                 "Report status: {status}.",
                 id="follow_up_status_confidential-en"),
    pytest.param("follow_up_status_anonymous_confidential",
                 "LAPOR! Tambahan anonim & rahasia untuk laporan {follow_up_of} diterima; identitas dirahasiakan. "
                 "Status laporan: {status}.",
                 id="follow_up_status_anonymous_confidential-id"),
    pytest.param("follow_up_status_anonymous_confidential",
                 "LAPOR! Your anonymous, confidential addition to report {follow_up_of} was received; identity kept "
                 "secret. Status: {status}.",
                 id="follow_up_status_anonymous_confidential-en"),
    pytest.param("follow_up_status_pending",
                 "LAPOR! Tambahan untuk laporan {follow_up_of} diterima. Statusnya sedang dicek, jawaban dikirim lewat"
                 " SMS.",
                 id="follow_up_status_pending-id"),
    pytest.param("follow_up_status_pending",
                 "LAPOR! Your addition to report {follow_up_of} was received. Checking its status; the answer follows "
                 "by SMS.",
                 id="follow_up_status_pending-en"),
    pytest.param("follow_up_status_pending_anonymous",
                 "LAPOR! Tambahan anonim untuk laporan {follow_up_of} diterima; identitas Anda dirahasiakan. Statusnya"
                 " dikirim lewat SMS.",
                 id="follow_up_status_pending_anonymous-id"),
    pytest.param("follow_up_status_pending_anonymous",
                 "LAPOR! Your anonymous addition to report {follow_up_of} was received; identity kept secret. Its "
                 "status follows by SMS.",
                 id="follow_up_status_pending_anonymous-en"),
    pytest.param("follow_up_status_pending_confidential",
                 "LAPOR! Tambahan rahasia untuk laporan {follow_up_of} diterima; isinya tidak dipublikasikan. "
                 "Statusnya dikirim lewat SMS.",
                 id="follow_up_status_pending_confidential-id"),
    pytest.param("follow_up_status_pending_confidential",
                 "LAPOR! Your confidential addition to report {follow_up_of} was received; content not made public. "
                 "Status follows by SMS.",
                 id="follow_up_status_pending_confidential-en"),
    pytest.param("follow_up_status_pending_anonymous_confidential",
                 "LAPOR! Tambahan anonim & rahasia untuk laporan {follow_up_of} diterima; identitas dirahasiakan. "
                 "Statusnya dikirim lewat SMS.",
                 id="follow_up_status_pending_anonymous_confidential-id"),
    pytest.param("follow_up_status_pending_anonymous_confidential",
                 "LAPOR! Your anonymous, confidential addition to report {follow_up_of} was received; identity kept "
                 "secret. Status follows by SMS.",
                 id="follow_up_status_pending_anonymous_confidential-en"),
    pytest.param("follow_up_status_retry",
                 "LAPOR! Tambahan untuk laporan {follow_up_of} diterima. Statusnya belum bisa dicek; kirim CEK "
                 "{follow_up_of} ke 1708 nanti.",
                 id="follow_up_status_retry-id"),
    pytest.param("follow_up_status_retry",
                 "LAPOR! Your addition to report {follow_up_of} was received. Its status cannot be checked now; send "
                 "CEK {follow_up_of} to 1708 later.",
                 id="follow_up_status_retry-en"),
    pytest.param("follow_up_status_retry_anonymous",
                 "LAPOR! Tambahan anonim untuk laporan {follow_up_of} diterima; identitas dirahasiakan. Status: kirim "
                 "CEK {follow_up_of} ke 1708 nanti.",
                 id="follow_up_status_retry_anonymous-id"),
    pytest.param("follow_up_status_retry_anonymous",
                 "LAPOR! Anonymous addition to report {follow_up_of} received; identity kept secret. For its status, "
                 "send CEK {follow_up_of} to 1708 later.",
                 id="follow_up_status_retry_anonymous-en"),
    pytest.param("follow_up_status_retry_confidential",
                 "LAPOR! Tambahan rahasia untuk laporan {follow_up_of} diterima; isi tidak dipublikasikan. Status: "
                 "kirim CEK {follow_up_of} ke 1708 nanti.",
                 id="follow_up_status_retry_confidential-id"),
    pytest.param("follow_up_status_retry_confidential",
                 "LAPOR! Confidential addition to report {follow_up_of} received; not made public. For its status, "
                 "send CEK {follow_up_of} to 1708 later.",
                 id="follow_up_status_retry_confidential-en"),
    pytest.param("follow_up_status_retry_anonymous_confidential",
                 "LAPOR! Tambahan anonim & rahasia untuk laporan {follow_up_of} diterima. Status: kirim CEK "
                 "{follow_up_of} ke 1708 nanti.",
                 id="follow_up_status_retry_anonymous_confidential-id"),
    pytest.param("follow_up_status_retry_anonymous_confidential",
                 "LAPOR! Anonymous, confidential addition to report {follow_up_of} received. For its status, send CEK "
                 "{follow_up_of} to 1708 later.",
                 id="follow_up_status_retry_anonymous_confidential-en"),
    # Reworded: the texts they have now (the former ones above are `[<key>.former]` in config/replies.toml).
    pytest.param("duplicate",
                 "LAPOR! Laporan ini sudah kami terima. Nomor lacak: {tracking_id}. Cek status: ketik CEK "
                 "{tracking_id} kirim ke 1708.", id="duplicate-id-now"),
    pytest.param("duplicate_anonymous",
                 "LAPOR! Laporan anonim ini sudah kami terima; identitas Anda dirahasiakan. Nomor lacak: "
                 "{tracking_id}. Cek status: ketik CEK {tracking_id} kirim ke 1708.", id="duplicate_anonymous-id-now"),
    pytest.param("bad_tracking_id_photo",
                 "LAPOR! Nomor lacak {typed_id} tidak valid. Pesan dan foto Anda dicatat sebagai laporan anonim baru. "
                 "Nomor lacak: {tracking_id}.", id="bad_tracking_id_photo-id-now"),
    pytest.param("bad_tracking_id_photo",
                 "LAPOR! Tracking ID {typed_id} is not valid. Your message and photo were filed as a new anonymous "
                 "report. Tracking ID: {tracking_id}.", id="bad_tracking_id_photo-en-now"),
    pytest.param("bad_tracking_id",
                 "LAPOR! Nomor lacak {tracking_id} tidak valid. Periksa kembali nomornya (angka terakhir adalah angka "
                 "cek). Laporan baru? Ketik LAPOR <isi> kirim ke 1708.", id="bad_tracking_id-id-1708"),
    pytest.param("bad_tracking_id",
                 "LAPOR! Tracking ID {tracking_id} is not valid. Please check the number (its last digit is a check "
                 "digit). A new report? Text REPORT <text> to 1708.", id="bad_tracking_id-en-1708"),
    pytest.param("bad_tracking_id",
                 "LAPOR! Nomor lacak {tracking_id} tidak valid. Periksa kembali nomornya, mungkin ada angka yang salah "
                 "ketik. Laporan baru? Ketik LAPOR <isi> kirim ke 1708.", id="bad_tracking_id-id-now"),
    pytest.param("bad_tracking_id",
                 "LAPOR! Tracking ID {tracking_id} is not valid. Please check the number, a digit may be mistyped. A "
                 "new report? Text REPORT <text> to 1708.", id="bad_tracking_id-en-now"),
    pytest.param("status_retry",
                 "LAPOR! Status laporan {tracking_id} belum bisa dicek saat ini. Silakan kirim CEK {tracking_id} ke "
                 "1708 lagi nanti.", id="status_retry-id-now"),
    pytest.param("status_retry",
                 "LAPOR! The status of report {tracking_id} cannot be checked right now. Please send CEK {tracking_id} "
                 "to 1708 later.", id="status_retry-en-now"),
    pytest.param("status_unknown",
                 "LAPOR! Laporan {tracking_id} tidak ditemukan. Periksa kembali nomornya.", id="status_unknown-id-now"),
    pytest.param("status_unknown",
                 "LAPOR! Report {tracking_id} was not found. Please check the number.", id="status_unknown-en-now"),
]


@pytest.mark.parametrize(("key", "held"), SMS_ANSWERS_HELD)
def test_every_sms_answer_citizens_hold_is_read_back_as_ours(key: str, held: str) -> None:
    mistyped = "12345672"
    text = held.format(tracking_id=mistyped if key == "bad_tracking_id" else VALID, follow_up_of=VALID,
                       typed_id=mistyped, status="sedang ditindaklanjuti")
    alone = parse_text(f"Fwd: {text}")
    if key == "bad_tracking_id":
        assert (alone.action, alone.tracking_id) == (Action.BAD_TRACKING_ID, mistyped), text
        return
    assert (alone.action, alone.tracking_id) == (Action.STATUS, VALID), text
    added = parse_text(f"{text} jalan masih rusak")  # an addition to it (or, after "Status laporan <id>", its status)
    assert added.action in (Action.FOLLOW_UP, Action.STATUS) and added.tracking_id == VALID, text


def test_every_sms_answer_naming_a_report_has_its_held_text() -> None:
    assert {key for key, _ in (param.values for param in SMS_ANSWERS_HELD)} == set(SMS_REPLY_KEYS)
    current = {load_replies()[key][language] for key in SMS_REPLY_KEYS for language in ("id", "en")}
    assert current <= {held for _, held in (param.values for param in SMS_ANSWERS_HELD)}, (
        "a reworded SMS answer: add its new text to SMS_ANSWERS_HELD, keep the old one, and check both are read")
    # Each text citizens hold is one the grammar knows: current, or kept as a former one when it was reworded.
    known = {text for key in SMS_REPLY_KEYS for language in ("id", "en")
             for text in reply_templates(load_replies()[key], language)}
    assert {held for _, held in (param.values for param in SMS_ANSWERS_HELD)} <= known, (
        "a reworded SMS answer: keep its old text under [<key>.former] in config/replies.toml")


@pytest.mark.parametrize("key", ["help", "status_help", "bad_tracking_id", "status", "status_unknown",
                                 "status_pending", "status_retry", "sms_kept_unfiled",
                                 *(f"report_flood_notice{flags}" for flags in ("", "_anonymous", "_confidential",
                                                                               "_anonymous_confidential"))])
def test_every_other_reply_is_gsm7_in_both_languages(key: str) -> None:
    """Each fits one SMS too, help's usage text among them."""
    longest = format_tracking_id(10 ** (MAX_LENGTH - 1) - 1)
    for language in ("id", "en"):
        assert is_gsm7(render(key, language, tracking_id="12345678", status=status_name("in_progress", language)))
        for status in ("received", "verified", "forwarded", "in_progress", "resolved", "rejected", "archived"):
            text = render(key, language, tracking_id=longest, status=status_name(status, language))
            parts = reply_parts(text, "r")
            assert "".join(part.text for part in parts) == text
            assert len(parts) == (1 if septets(text) <= SINGLE_PART else -(-septets(text) // MULTI_PART))
            assert len(parts) == 1, (key, language, septets(text))


# How every SMS text tells a citizen to send a command, as the acknowledgement does: the verb, the form, and where
# to send it ("ketik CEK <id> kirim ke 1708"; "kirim CEK <id> ke 1708", the verb first). "ketik CEK <id> ke 1708"
# ([duplicate]), "Ketik LAPOR <isi>." ([bad_tracking_id]) and "kirim CEK <id> lagi nanti" ([status_retry]) gave the
# number another way or not at all.
SEND_TO_1708 = {"id": ((re.compile(r"\b[Kk]etik ([A-Z]+ (?:<[^>]+>|\{\w+\}))(.{0,14})"), " kirim ke 1708"),
                       (re.compile(r"\b[Kk]irim ([A-Z]+ (?:<[^>]+>|\{\w+\}))(.{0,8})"), " ke 1708")),
                "en": ((re.compile(r"\b(?:[Tt]ext|[Ss]end) ([A-Z]+ (?:<[^>]+>|\{\w+\}))(.{0,8})"), " to 1708"),)}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("key", sorted({*SMS_REPLY_KEYS, "help", "status_help"}))
def test_every_sms_text_that_says_what_to_type_says_where_to_send_it(key: str, language: str) -> None:
    template = load_replies()[key][language]
    for pattern, ending in SEND_TO_1708[language]:
        for form in pattern.finditer(template):
            assert form.group(2).startswith(ending), f"[{key}] {language}: {form.group(0)!r} lacks {ending!r}"


# An answer that finds no report for the number given, or finds it no Tracking ID, tells the citizen what to do
# next: check the number. [status_unknown] ended at "tidak ditemukan", and the citizen did not know why or what then.
@pytest.mark.parametrize("key", ["status_unknown", "bad_tracking_id", "email_bad_tracking_id",
                                 "social_bad_tracking_id"])
def test_an_answer_that_finds_no_report_says_to_check_the_number(key: str) -> None:
    table = load_replies()[key]
    assert "Periksa kembali nomornya" in table["id"] and "Please check the number" in table["en"]


# Private replies to a report that is always filed anonymous (a photo sent with a mistyped Tracking ID:
# normalizer/pipeline.py), as the acknowledgement of an ANONIM report says so: the citizen learns their number is not
# passed on. [bad_tracking_id_photo] said only "filed as a new report".
ALWAYS_ANONYMOUS = ("ack_anonymous", "duplicate_anonymous", "follow_up_unknown_anonymous", "bad_tracking_id_photo",
                    "email_ack_anonymous", "email_follow_up_unknown_anonymous", "email_bad_tracking_id_photo",
                    "ack_anonymous_confidential", "duplicate_anonymous_confidential",
                    "email_ack_anonymous_confidential", "ack_incomplete", "ack_incomplete_confidential",
                    "follow_up_unknown_anonymous_confidential", "bad_tracking_id_photo_confidential",
                    "email_follow_up_unknown_anonymous_confidential", "email_bad_tracking_id_photo_confidential",
                    "email_duplicate_anonymous", "email_duplicate_anonymous_confidential")


@pytest.mark.parametrize("key", ALWAYS_ANONYMOUS)
def test_a_private_reply_to_a_report_filed_anonymous_says_it_is_anonymous(key: str) -> None:
    table = load_replies()[key]
    assert "anonim" in table["id"].lower() and "anonymous" in table["en"].lower()


# Private acknowledgements of a confidential report (RAHASIA): each says it is confidential, as an anonymous one's says
# it is anonymous; one that is both says both (`[ack_anonymous_confidential]`: the stronger one explained).
ALWAYS_CONFIDENTIAL = ("ack_confidential", "duplicate_confidential", "email_ack_confidential",
                       "ack_anonymous_confidential", "duplicate_anonymous_confidential",
                       "email_ack_anonymous_confidential", "ack_incomplete_confidential",
                       "follow_up_unknown_confidential", "follow_up_unknown_anonymous_confidential",
                       "bad_tracking_id_photo_confidential", "email_follow_up_unknown_confidential",
                       "email_follow_up_unknown_anonymous_confidential", "email_bad_tracking_id_photo_confidential",
                       *(f"follow_up{status}{flags}" for status in ("", "_status", "_status_pending", "_status_retry")
                         for flags in ("_confidential", "_anonymous_confidential")),
                       "report_flood_notice_confidential", "report_flood_notice_anonymous_confidential",
                       "email_duplicate_confidential", "email_duplicate_anonymous_confidential")


def test_every_private_reply_that_names_a_flag_has_its_confidential_variants() -> None:
    """A private reply with an anonymous variant, or one always anonymous, has the confidential variants beside it,
    each saying so: `[follow_up_unknown]`, `[bad_tracking_id_photo]` and `[ack_incomplete]` said nothing of a
    RAHASIA the citizen sent, as the acknowledgement did before `[ack_confidential]`."""
    replies = load_replies()
    bases = {key.removesuffix("_anonymous") for key in replies if key.endswith("_anonymous")}
    always = {"ack_incomplete", "bad_tracking_id_photo", "email_bad_tracking_id_photo"}
    expected = {f"{base}_confidential" for base in bases | always} | {f"{base}_anonymous_confidential"
                                                                      for base in bases}
    assert expected <= set(replies) and expected <= set(ALWAYS_CONFIDENTIAL)


@pytest.mark.parametrize("key", ALWAYS_CONFIDENTIAL)
def test_a_private_reply_to_a_confidential_report_says_it_is_confidential(key: str) -> None:
    table = load_replies()[key]
    # "rahasia" as a word: "dirahasiakan" (the identity kept secret) is the anonymous acknowledgement's
    assert re.search(r"\brahasia\b", table["id"].lower()) and "confidential" in table["en"].lower()


@pytest.mark.parametrize(("anonymous", "confidential", "repeat", "key"), [
    (False, False, False, "ack"),
    (True, False, False, "ack_anonymous"),
    (False, True, False, "ack_confidential"),
    (True, True, False, "ack_anonymous_confidential"),
    (False, False, True, "duplicate"),
    (True, False, True, "duplicate_anonymous"),
    (False, True, True, "duplicate_confidential"),
    (True, True, True, "duplicate_anonymous_confidential"),
])
def test_the_acknowledgement_key_follows_the_reports_flags(anonymous: bool, confidential: bool, repeat: bool,
                                                           key: str) -> None:
    assert acknowledgement(anonymous, confidential, repeat=repeat) == key
    assert key in load_replies()


@pytest.mark.parametrize(("confidential", "repeat", "key"), [
    (False, False, "ack_incomplete"),
    (True, False, "ack_incomplete_confidential"),
    (False, True, "duplicate_anonymous"),
    (True, True, "duplicate_anonymous_confidential"),
])
def test_an_incomplete_sms_is_acknowledged_with_its_confidential_flag(confidential: bool, repeat: bool,
                                                                     key: str) -> None:
    """A concatenated SMS filed without some of its parts is always anonymous, and its text says so; a RAHASIA in a
    part that came is said too."""
    assert acknowledgement(True, confidential, repeat=repeat, incomplete=True) == key


@pytest.mark.parametrize(("base", "anonymous", "confidential", "key"), [
    ("follow_up_unknown", False, False, "follow_up_unknown"),
    ("follow_up_unknown", True, False, "follow_up_unknown_anonymous"),
    ("follow_up_unknown", False, True, "follow_up_unknown_confidential"),
    ("follow_up_unknown", True, True, "follow_up_unknown_anonymous_confidential"),
    ("bad_tracking_id_photo", True, False, "bad_tracking_id_photo"),
    ("bad_tracking_id_photo", True, True, "bad_tracking_id_photo_confidential"),
    ("ack_incomplete", True, True, "ack_incomplete_confidential"),
])
def test_a_reply_to_a_new_report_names_its_flags(base: str, anonymous: bool, confidential: bool, key: str) -> None:
    assert flagged(base, anonymous=anonymous, confidential=confidential) == key
    assert key in load_replies()


@pytest.mark.parametrize("language", ["id", "en"])
def test_helps_flag_forms_typed_as_shown_file_flagged_reports(language: str) -> None:
    """Help said "Tambah ANONIM agar identitas dirahasiakan", and citizens typed it as it reads. Each flag's form opens
    its sentence with the keywords as they are typed ("LAPOR ANONIM <isi>: ..."): typed alone or with the sentence's
    explanation after it, the report is flagged. Help keeps to one SMS part and shows ANONIM at least (RAHASIA, read
    as before, did not fit it)."""
    usage = render("help", language)
    assert len(reply_parts(usage, "r")) == 1
    assert "ANONIM" in usage.split()
    complaint = "preman minta uang parkir"
    for flag, field in (("ANONIM", "anonymous"), ("RAHASIA", "confidential")):
        sentence = next((part for part in re.split(r"(?<=\.) ", usage) if flag in part.split()), None)
        if sentence is None:
            continue
        form = re.match(rf"([A-Z]+ {flag}) <[^>]+>", sentence)
        assert form is not None, f"help shows no form opening with the keywords of {flag}: {sentence!r}"
        for typed in (f"{form.group(1)} {complaint}", re.sub(r"<[^>]+>", complaint, sentence)):
            parsed = parse_text(typed)
            assert (parsed.action, getattr(parsed, field), parsed.text[:len(complaint)]) == (
                Action.REPORT, True, complaint), typed


# The test's own reading of what our texts teach, apart from the grammar's tables: what each word they show in capitals
# before a placeholder means, and what each placeholder stands for. A text that shows another fails the tests below
# until it is added here, and so until someone has looked at how the grammar reads it.
TAUGHT_WORDS = {"LAPOR": "complaint", "REPORT": "complaint", "ASPIRASI": "aspiration", "INFO": "information_request",
                "WBS": "whistleblowing", "ANONIM": "anonymous", "RAHASIA": "confidential", "CEK": "status"}
PLACEHOLDERS = {"isi laporan": "text", "isi": "text", "your report": "text", "text": "text", "nomor lacak": "id",
                "tracking ID": "id"}
KINDS = ("complaint", "aspiration", "information_request", "whistleblowing")
# Our SMS texts that teach a form, and what stands for their {tracking_id}: a placeholder as help shows one (the
# acknowledgement's "CEK {tracking_id}" teaches "CEK <nomor lacak>"); in the refusal, the number it refused.
ID_PLACEHOLDER = {"id": "<nomor lacak>", "en": "<tracking ID>"}
TEACHING_REPLIES = {"help": None, "ack": ID_PLACEHOLDER, "duplicate": ID_PLACEHOLDER, "bad_tracking_id": "15000000",
                    "status_retry": ID_PLACEHOLDER, "status_help": None}
# How many sentences opening a reply above tell what happened, a Tracking ID in them, and teach nothing to type: the
# status answer's "The status of report <id> cannot be checked right now." before "Please send CEK <id> later."
TELLING_SENTENCES = {"status_retry": 1}
# A form: the words in capitals before a placeholder, the placeholder, and the one after it if any.
TAUGHT_FORM = re.compile(r"(?P<words>(?:[A-Z]{2,} )*)(?P<first><(?P<first_name>[^>]+)>)(?: <(?P<second_name>[^>]+)>)?")
# A list of the forms' words after a label: help's "Jenis: LAPOR, ASPIRASI, INFO, WBS." before it was cut to one SMS.
TAUGHT_LIST = re.compile(r"(?P<label>[^:<>]+): (?P<words>[A-Z]{2,}(?:, [A-Z]{2,})+)\.")
COPIED_COMPLAINT = "preman minta uang parkir"


@dataclass(frozen=True)
class Taught:
    """A form a reply teaches, as typed in one of the ways a citizen copies it, and what it does."""

    typed: str
    action: Action
    kind: str = "complaint"
    explicit_kind: bool = False
    flags: frozenset[str] = frozenset()
    tracking_id: str | None = None
    exact: bool = False  # the form alone: its text is the complaint exactly, not only first


def _taught_in(sentence: str) -> list[Taught]:
    """The copies of one sentence of ours that teaches a form, each with what it does: none when it teaches none."""
    listed = TAUGHT_LIST.fullmatch(sentence)
    if listed is not None:
        copies = []
        for word in listed.group("words").split(", "):
            kind = TAUGHT_WORDS[word]
            for typed, exact in ((f"{word} {COPIED_COMPLAINT}", True),
                                 (f"{listed.group('label')}: {word} {COPIED_COMPLAINT}", False)):
                copies += [Taught(copy, Action.REPORT, kind, True, exact=exact) for copy in (typed, typed.lower())]
        return copies
    form = TAUGHT_FORM.search(sentence)
    if form is None:
        return []
    words = form.group("words").split()
    unknown = [word for word in words if word not in TAUGHT_WORDS]
    assert not unknown, f"{sentence!r} teaches {unknown}: add what they mean to TAUGHT_WORDS, and read them"
    names = [name for name in (form.group("first_name"), form.group("second_name")) if name]
    assert all(name in PLACEHOLDERS for name in names), f"{sentence!r}: a placeholder PLACEHOLDERS does not know"
    stands_for = [PLACEHOLDERS[name] for name in names]
    meanings = [TAUGHT_WORDS[word] for word in words]
    kinds = [meaning for meaning in meanings if meaning in KINDS]
    if "status" in meanings or stands_for == ["id"]:
        assert stands_for == ["id"], sentence
        what = Taught("", Action.STATUS, tracking_id=VALID)
    elif stands_for == ["id", "text"] and not meanings:
        what = Taught("", Action.FOLLOW_UP, tracking_id=VALID)
    else:
        assert stands_for == ["text"], sentence
        what = Taught("", Action.REPORT, kinds[0] if kinds else "complaint", bool(kinds),
                      frozenset(meaning for meaning in meanings if meaning in ("anonymous", "confidential")))
    values = {"id": VALID, "text": COPIED_COMPLAINT}

    def filled(text: str, marks: bool) -> str:
        return re.sub(r"<([^>]+)>", lambda m: f"<{values[PLACEHOLDERS[m[1]]]}>" if marks
                      else values[PLACEHOLDERS[m[1]]], text)

    whole = filled(sentence, marks=False)
    return [replace(what, typed=filled(form.group(0), marks=False), exact=True),
            replace(what, typed=whole), replace(what, typed=filled(sentence, marks=True)),
            replace(what, typed=whole.lower())]


def _taught_by(key: str, language: str) -> list[Taught]:
    """Every copy of every form the reply under `key` teaches, its sentences split as a citizen copies them."""
    shown = TEACHING_REPLIES[key]
    shown = shown[language] if isinstance(shown, dict) else shown
    # Our name opening the text ("LAPOR! 1708: ketik LAPOR <isi laporan> ...", "LAPOR! Status laporan <nomor lacak>
    # ...") stays on its first sentence: copied with it, "LAPOR! 1708: ketik LAPOR ANONIM <isi>" was a named report.
    text = render(key, language, tracking_id=shown)
    sentences = re.split(r"(?<=[.?]) ", text)[TELLING_SENTENCES.get(key, 0):]
    return [copy for sentence in sentences for copy in _taught_in(sentence)]


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("key", list(TEACHING_REPLIES))
def test_every_form_our_sms_texts_teach_does_what_they_teach_as_copied(key: str, language: str) -> None:
    """Citizens on feature phones copy our instructions literally: the form alone ("LAPOR ANONIM <isi>"), or the
    whole sentence, its words around the form ("ketik LAPOR <isi laporan> kirim ke 1708", "Cek status: CEK <nomor
    lacak>", "Jenis: WBS"), the placeholder's marks kept or not, in capitals or not. Each does what the text teaches:
    a report of that kind with those flags, its text the complaint (first; the sentence's explanation may follow it),
    a status query or an addition to that report. Read out of config/replies.toml, so that a rewording cannot teach a
    form the grammar misreads: "Cek status: CEK <id>" was a named new report, "ketik LAPOR ANONIM <isi>" one with
    "ketik LAPOR ANONIM" in its text, the sender's number beside it."""
    copies = _taught_by(key, language)
    assert copies, f"the test reads no form out of {key!r}"
    if key == "help":  # a report, anonymity, the status query and the addition (one SMS part holds no more): a form
        # this test cannot read fails
        taught = {copy.kind for copy in copies if copy.explicit_kind} | {copy.action.value for copy in copies}
        assert taught | set().union(*(copy.flags for copy in copies)) >= {
            "complaint", "anonymous", "status", "follow_up"}, copies
    problems = []
    for copy in copies:
        parsed = parse_text(copy.typed)
        got = (parsed.action, parsed.tracking_id, parsed.kind.value if parsed.action is Action.REPORT else copy.kind,
               parsed.explicit_kind, frozenset(flag for flag in ("anonymous", "confidential") if getattr(parsed, flag)))
        wanted = (copy.action, copy.tracking_id, copy.kind, copy.explicit_kind, copy.flags)
        if copy.action in (Action.REPORT, Action.FOLLOW_UP):
            got += (parsed.text if copy.exact else parsed.text.lower()[:len(COPIED_COMPLAINT)],)
            wanted += (COPIED_COMPLAINT,)
        if got != wanted:
            problems.append(f"{copy.typed!r}: {got} != {wanted} ({parsed.text!r})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_form_the_social_help_teaches_does_what_it_teaches_as_copied(language: str) -> None:
    """The public help to a mention: mention our handle with the report, and add its hashtags ("#anonim: ...",
    "#rahasia agar isi tidak dipublikasikan"). Each hashtag it shows, wherever the citizen puts it and with the word
    help puts before it (if any: "Tambah #anonim" it once said), sets what it teaches; the report's text is the
    complaint, first."""
    usage = render("social_help", language, ref="ABCDEFGH")
    handle = re.search(r"@\w+", usage)
    tags = re.findall(r"#(\w+)", usage)
    verb = re.search(r"(\w+) #", usage)
    assert handle is not None and len(tags) >= 2, usage
    unknown = [tag for tag in tags if tag.upper() not in TAUGHT_WORDS]
    assert not unknown, f"social help teaches {unknown}: add what they mean to TAUGHT_WORDS, and read them"
    copies = [(f"{handle[0]} {COPIED_COMPLAINT}", frozenset())]
    for tag in tags:
        flags = frozenset({TAUGHT_WORDS[tag.upper()]})
        copies += [(typed, flags) for typed in (
            f"{handle[0]} {COPIED_COMPLAINT} #{tag}", f"{handle[0]} #{tag} {COPIED_COMPLAINT}",
            *((f"{handle[0]} {verb[1]} #{tag} {COPIED_COMPLAINT}",
               f"{handle[0]} {COPIED_COMPLAINT}, {verb[1].lower()} #{tag}") if verb is not None else ()),
        )]
    copies.append((f"{handle[0]} {COPIED_COMPLAINT} " + " ".join(f"#{tag}" for tag in tags),
                   frozenset(TAUGHT_WORDS[tag.upper()] for tag in tags)))
    problems = []
    for typed, flags in copies:
        parsed = parse_text(strip_leading_mentions(typed, handle[0]))
        got = (parsed.action, parsed.text[:len(COPIED_COMPLAINT)],
               frozenset(flag for flag in ("anonymous", "confidential") if getattr(parsed, flag)))
        if got != (Action.REPORT, COPIED_COMPLAINT, flags):
            problems.append(f"{typed!r}: {got} ({parsed.text!r})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("text", "action", "tracking_id", "body", "kind", "anonymous", "language"), [
    # the whole "Cek status:" sentence copied: the status query (it was a named new report, beside an anonymous
    # report's ID)
    pytest.param(f"Cek status: CEK {VALID}", Action.STATUS, VALID, "", "complaint", False, "id", id="cek-status-label"),
    pytest.param(f"Status: CEK {VALID}", Action.STATUS, VALID, "", "complaint", False, "id", id="status-label"),
    pytest.param(f"Cek status: CEK <{VALID}>", Action.STATUS, VALID, "", "complaint", False, "id",
                 id="cek-status-label-brackets"),
    pytest.param("Cek status: CEK", Action.STATUS_HELP, None, "", "complaint", False, "id",
                 id="cek-status-label-no-id"),
    pytest.param(f"Cek status: ketik CEK {VALID} kirim ke 1708.", Action.STATUS, VALID, "", "complaint", False, "id",
                 id="acknowledgements-sentence"),
    # in the language of the copied words: the answer to our English sentence is English
    pytest.param(f"For its status, text CEK {VALID} to 1708.", Action.STATUS, VALID, "", "complaint", False, "en",
                 id="acknowledgements-sentence-en"),
    pytest.param(f"Cek status: CEK {BAD}", Action.BAD_TRACKING_ID, BAD, "", "complaint", False, "id",
                 id="cek-status-label-mistyped"),
    # help's verb "ketik" copied: as without it, the anonymity kept
    pytest.param("ketik LAPOR ANONIM preman minta uang", Action.REPORT, None, "preman minta uang", "complaint", True,
                 "id", id="ketik-lapor-anonim"),
    pytest.param("Ketik LAPOR jalan rusak", Action.REPORT, None, "jalan rusak", "complaint", False, "id",
                 id="ketik-lapor"),
    pytest.param("ketik ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", "complaint", True, "id",
                 id="ketik-anonim"),
    pytest.param(f"ketik CEK {VALID}", Action.STATUS, VALID, "", "complaint", False, "id", id="ketik-cek"),
    pytest.param(f"ketik {VALID} jalan masih rusak", Action.FOLLOW_UP, VALID, "jalan masih rusak", "complaint", False,
                 "id", id="ketik-follow-up"),
    pytest.param("1708 ketik LAPOR ANONIM preman minta uang", Action.REPORT, None, "preman minta uang", "complaint",
                 True, "id", id="short-code-ketik"),
    pytest.param("🙏 ketik LAPOR ANONIM preman minta uang", Action.REPORT, None, "preman minta uang", "complaint",
                 True, "id", id="emoji-ketik"),
    # ... and its closing, taken off with it: the instruction copied whole
    pytest.param("ketik LAPOR jalan rusak kirim ke 1708", Action.REPORT, None, "jalan rusak", "complaint", False, "id",
                 id="ketik-and-closing"),
    pytest.param("ketik LAPOR ANONIM jalan rusak, kirim ke 1708.", Action.REPORT, None, "jalan rusak", "complaint",
                 True, "id", id="ketik-and-closing-after-a-comma"),
    pytest.param("text REPORT the bridge is broken to 1708", Action.REPORT, None, "the bridge is broken", "complaint",
                 False, "en", id="text-and-closing-en"),
    # without the verb the closing may be the citizen's: kept
    pytest.param("LAPOR jalan rusak kirim ke 1708", Action.REPORT, None, "jalan rusak kirim ke 1708", "complaint",
                 False, "id", id="closing-without-the-verb"),
    # help's label before a kind word
    pytest.param("Jenis: WBS kepala desa korupsi", Action.REPORT, None, "kepala desa korupsi", "whistleblowing",
                 False, "id", id="jenis-label"),
    pytest.param("JENIS: ASPIRASI tambah halte", Action.REPORT, None, "tambah halte", "aspiration", False, "id",
                 id="jenis-label-aspirasi"),
    pytest.param("Kinds: INFO what is the bus schedule to Bogor?", Action.REPORT, None,
                 "what is the bus schedule to Bogor?", "information_request", False, "en", id="kinds-label-en"),
    # the placeholder's marks typed around the text
    pytest.param("LAPOR <jalan rusak di depan SD>", Action.REPORT, None, "jalan rusak di depan SD", "complaint",
                 False, "id", id="placeholder-marks"),
    pytest.param("LAPOR ANONIM <preman minta uang>: identitas dirahasiakan.", Action.REPORT, None,
                 "preman minta uang: identitas dirahasiakan.", "complaint", True, "id",
                 id="placeholder-marks-sentence"),
    pytest.param("ketik LAPOR <jalan rusak> kirim ke 1708.", Action.REPORT, None, "jalan rusak", "complaint", False,
                 "id", id="placeholder-marks-and-closing"),
    pytest.param(f"Tambahan: <{VALID}> <jalan masih rusak>", Action.FOLLOW_UP, VALID, "jalan masih rusak",
                 "complaint", False, "id", id="placeholder-marks-follow-up"),
    pytest.param("＜jalan rusak＞", Action.REPORT, None, "jalan rusak", "complaint", False, "id",
                 id="placeholder-marks-fullwidth"),
    # help's header, our name and short code, copied before the form: read past as help's other words (it was a named
    # report of "1708: ketik LAPOR ANONIM ...", the whistleblower's number beside it)
    pytest.param("LAPOR! 1708: ketik LAPOR ANONIM preman minta uang", Action.REPORT, None, "preman minta uang",
                 "complaint", True, "id", id="header-ketik-lapor-anonim"),
    pytest.param("LAPOR! 1708: LAPOR ANONIM preman minta uang", Action.REPORT, None, "preman minta uang",
                 "complaint", True, "id", id="header-lapor-anonim"),
    pytest.param("lapor 1708 ketik anonim preman minta uang", Action.REPORT, None, "preman minta uang",
                 "complaint", True, "id", id="header-without-punctuation"),
    pytest.param("LAPOR! ketik LAPOR ANONIM preman minta uang", Action.REPORT, None, "preman minta uang",
                 "complaint", True, "id", id="name-ketik-lapor-anonim"),
    pytest.param("LAPOR! 1708: ketik WBS kepala desa korupsi kirim ke 1708.", Action.REPORT, None,
                 "kepala desa korupsi", "whistleblowing", False, "id", id="header-ketik-kind-and-closing"),
    pytest.param(f"LAPOR! 1708: Cek status: CEK {VALID}", Action.STATUS, VALID, "", "complaint", False, "id",
                 id="header-cek-status"),
    pytest.param(f"LAPOR! 1708: {VALID} jalan masih rusak", Action.FOLLOW_UP, VALID, "jalan masih rusak",
                 "complaint", False, "id", id="header-follow-up"),
    pytest.param(f"LAPOR! Status laporan {VALID} belum bisa dicek saat ini.", Action.STATUS, VALID,
                 "belum bisa dicek saat ini.", "complaint", False, "id", id="name-before-a-status-command"),
    # ... and followed by anything else, the kind word it is
    pytest.param("LAPOR! 1708: jalan rusak di depan SD", Action.REPORT, None, "1708: jalan rusak di depan SD",
                 "complaint", False, "id", id="header-then-prose"),
    pytest.param(f"LAPOR: {VALID} jalan masih rusak", Action.REPORT, None, f"{VALID} jalan masih rusak", "complaint",
                 False, "id", id="name-then-an-id-and-words"),
    pytest.param(f"LAPOR! Laporan {VALID}: jalan masih rusak.", Action.REPORT, None,
                 f"Laporan {VALID}: jalan masih rusak.", "complaint", False, "id", id="name-then-a-named-id"),
    pytest.param("LAPOR ketik KTP dipungut biaya", Action.REPORT, None, "ketik KTP dipungut biaya", "complaint",
                 False, "id", id="name-ketik-prose"),
    # a status label without its colon, and the status answer's "kirim CEK <id> lagi nanti", before a status command
    pytest.param(f"Cek status CEK {VALID}", Action.STATUS, VALID, "", "complaint", False, "id",
                 id="cek-status-without-a-colon"),
    pytest.param(f"cek status ketik CEK {VALID}", Action.STATUS, VALID, "", "complaint", False, "id",
                 id="cek-status-without-a-colon-ketik"),
    pytest.param(f"Silakan kirim CEK {VALID} lagi nanti.", Action.STATUS, VALID, "lagi nanti.", "complaint", False,
                 "id", id="status-retry-sentence"),
    pytest.param(f"silahkan kirim cek {VALID}", Action.STATUS, VALID, "", "complaint", False, "id",
                 id="status-retry-silahkan"),
    pytest.param(f"Please send CEK {VALID} later.", Action.STATUS, VALID, "later.", "complaint", False, "en",
                 id="status-retry-sentence-en"),
    pytest.param(f"kirim CEK {BAD}", Action.BAD_TRACKING_ID, BAD, "", "complaint", False, "id",
                 id="kirim-cek-mistyped"),
    # ... and before anything else, the citizen's
    pytest.param("kirim laporan sudah 3 kali belum ada tanggapan", Action.REPORT, None,
                 "kirim laporan sudah 3 kali belum ada tanggapan", "complaint", False, "id", id="prose-kirim-laporan"),
    pytest.param("kirim 500000", Action.REPORT, None, "kirim 500000", "complaint", False, "id",
                 id="prose-kirim-an-amount"),
    pytest.param("kirim bantuan", Action.REPORT, None, "kirim bantuan", "complaint", False, "id",
                 id="prose-kirim-bantuan"),
    pytest.param("send help", Action.REPORT, None, "send help", "complaint", False, "en", id="prose-send-help"),
    # status words and no ID, the label read or not: a status question without an ID, answered with how to ask
    pytest.param("Cek status CEK", Action.STATUS_HELP, None, "", "complaint", False, "id",
                 id="cek-status-without-a-colon-no-id"),
    # the citizen's own words: as before
    pytest.param("ketik KTP di kelurahan dipungut biaya", Action.REPORT, None, "ketik KTP di kelurahan dipungut biaya",
                 "complaint", False, "id", id="prose-ketik"),
    pytest.param("jenis informasi yang diminta warga tidak diberikan", Action.REPORT, None,
                 "jenis informasi yang diminta warga tidak diberikan", "complaint", False, "id", id="prose-jenis"),
    pytest.param("Jenis: pungli di pasar", Action.REPORT, None, "Jenis: pungli di pasar", "complaint", False, "id",
                 id="prose-jenis-label"),
    pytest.param("Cek status tanah warga tidak jelas", Action.REPORT, None, "Cek status tanah warga tidak jelas",
                 "complaint", False, "id", id="prose-cek-status"),
    pytest.param("Status: laporan saya belum ditindaklanjuti", Action.REPORT, None,
                 "Status: laporan saya belum ditindaklanjuti", "complaint", False, "id", id="prose-status-label"),
    pytest.param("Status: WBS kepala desa korupsi", Action.REPORT, None, "Status: WBS kepala desa korupsi",
                 "complaint", False, "id", id="status-label-before-a-kind"),
    pytest.param("Jenis: CEK 1000", Action.REPORT, None, "Jenis: CEK 1000", "complaint", False, "id",
                 id="kind-label-before-a-command"),
    pytest.param("ketik 15000000 diminta petugas", Action.REPORT, None, "ketik 15000000 diminta petugas", "complaint",
                 False, "id", id="ketik-an-amount"),
    pytest.param("harga <5000 jalan rusak>", Action.REPORT, None, "harga <5000 jalan rusak>", "complaint", False, "id",
                 id="marks-inside-prose"),
    pytest.param("<3 jalan rusak", Action.REPORT, None, "<3 jalan rusak", "complaint", False, "id",
                 id="opening-mark-alone"),
    pytest.param("LAPOR <17-08-2025> ada pungli", Action.REPORT, None, "<17-08-2025> ada pungli", "complaint", False,
                 "id", id="marks-around-a-date"),
    # marks glued to the word after them: taken off, the words either side of the closing mark ran into one
    pytest.param("<b>jalan</b> rusak di depan SD", Action.REPORT, None, "<b>jalan</b> rusak di depan SD", "complaint",
                 False, "id", id="marks-glued-to-a-word"),
    pytest.param("LAPOR <RT 05>Jl. Merdeka rusak", Action.REPORT, None, "<RT 05>Jl. Merdeka rusak", "complaint",
                 False, "id", id="closing-mark-glued-to-a-word"),
])
def test_helps_instruction_words_copied_with_a_form_are_read_past(text: str, action: Action,
                                                                  tracking_id: str | None, body: str, kind: str,
                                                                  anonymous: bool, language: str) -> None:
    """Help's own words around a form, copied with it ("ketik", "Cek status:", "Jenis:", "kirim ke 1708", the
    placeholder's "<>"): read as the form alone is. Before anything else than the form they introduce they are the
    citizen's words, as before."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.kind.value, parsed.anonymous, parsed.language) == (
        action, tracking_id, body, kind, anonymous, language)


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_refused_tracking_id_says_how_to_send_the_message_as_a_report(language: str) -> None:
    """A complaint opening with a number as long as an ID ("15000000 diminta petugas", Rp 15 million) is refused
    as a mistyped ID: the reply names the keyword that files it, and sent with it the message is a report, its number
    kept."""
    refused = "15000000 diminta petugas untuk IMB"
    parsed = parse_text(refused, shortest_id=SHORTEST)
    assert parsed.action is Action.BAD_TRACKING_ID
    advice = re.search(r"\b([A-Z]+) <", render("bad_tracking_id", language, tracking_id=parsed.tracking_id))
    assert advice is not None, "the reply names no keyword to report with"
    resent = parse_text(f"{advice.group(1)} {refused}", shortest_id=SHORTEST)
    assert (resent.action, resent.text) == (Action.REPORT, refused)
    # a number alone, refused, then sent as advised: filed too (a named ID is asked about only when it is valid)
    alone = parse_text(f"{advice.group(1)} 15000000", shortest_id=SHORTEST)
    assert (alone.action, alone.text) == (Action.REPORT, "15000000")


@pytest.mark.parametrize(
    ("text", "body", "anonymous", "confidential"),
    [
        ("LAPOR pungli di kantor kelurahan ANONIM", "pungli di kantor kelurahan ANONIM", True, False),
        ("lapor pungli di kelurahan. anonim", "pungli di kelurahan.", True, False),
        ("pungli di kelurahan, Anonim!", "pungli di kelurahan", True, False),
        ("pungli di kelurahan (anonim)", "pungli di kelurahan", True, False),
        ("WBS camat terima suap RAHASIA ANONIM", "camat terima suap RAHASIA ANONIM", True, True),
        ("WBS camat terima suap. RAHASIA ANONIM", "camat terima suap.", True, True),
        # After a plain space a flag word may be the citizen's own: flagged (the safe error), never cut off.
        ("LAPOR pejabat kelurahan menyimpan dokumen rahasia", "pejabat kelurahan menyimpan dokumen rahasia",
         False, True),
        ("the hospital near my house is private", "the hospital near my house is private", False, True),
        ("pungli di kelurahan - rahasia", "pungli di kelurahan", False, True),
        ("anonim jalan rusak", "jalan rusak", True, False),
        ("jalan rusak di Desa Anonim Jaya", "jalan rusak di Desa Anonim Jaya", False, False),
    ],
    ids=["trailing-word", "after-full-stop", "comma-and-bang", "in-brackets", "two-trailing", "two-after-stop",
         "prose-rahasia-kept", "prose-private-kept", "dash-rahasia",
         "leading", "inside-prose"],
)
def test_a_flag_word_at_the_end_counts_like_one_at_the_start(text: str, body: str, anonymous: bool,
                                                            confidential: bool) -> None:
    """Help says "add ANONIM": many add it at the end. Missed there, the citizen's number would reach the agency."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, body, anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "kind", "anonymous", "confidential"), [
    pytest.param("LAPOR 1708 ANONIM preman minta uang parkir", "preman minta uang parkir", "complaint", True, False,
                 id="kind-short-code-flag"),
    pytest.param("Lapor 1708, anonim: preman minta uang parkir", "preman minta uang parkir", "complaint", True, False,
                 id="kind-short-code-flag-punctuated"),
    pytest.param("ANONIM 1708 WBS camat terima suap", "camat terima suap", "whistleblowing", True, False,
                 id="flag-short-code-kind"),
    pytest.param("LAPOR @lapor1708 #rahasia camat terima suap", "camat terima suap", "complaint", False, True,
                 id="kind-handle-hashtag-flag"),
    pytest.param("LAPOR 1708 1708 ANONIM pungli", "pungli", "complaint", True, False, id="short-code-twice"),
    # Our short code followed by the citizen's words stays theirs, as it does first ("1708 jalan rusak").
    pytest.param("LAPOR 1708 jalan rusak", "1708 jalan rusak", "complaint", False, False, id="short-code-then-prose"),
    pytest.param("ANONIM 1708 jalan rusak", "1708 jalan rusak", "complaint", True, False,
                 id="flag-short-code-then-prose"),
    pytest.param("LAPOR 1708", "", "complaint", False, False, id="kind-and-short-code-alone"),
    # A second kind word before the flag: the first that is not the generic "LAPOR" names the kind.
    pytest.param("LAPOR WBS ANONIM kades minta uang", "kades minta uang", "whistleblowing", True, False,
                 id="two-kinds-then-flag"),
    pytest.param("WBS LAPOR ANONIM kades minta uang", "kades minta uang", "whistleblowing", True, False,
                 id="specific-kind-first"),
    pytest.param("LAPOR! LAPOR ANONIM pungli", "pungli", "complaint", True, False, id="our-name-then-helps-form"),
    pytest.param("LAPOR WBS 1708 RAHASIA camat terima suap", "camat terima suap", "whistleblowing", False, True,
                 id="two-kinds-short-code-flag"),
    pytest.param("LAPOR info jalan ditutup", "info jalan ditutup", "complaint", False, False,
                 id="second-kind-word-then-prose"),
])
def test_our_short_code_between_the_leading_keywords_is_skipped(text: str, body: str, kind: str, anonymous: bool,
                                                                confidential: bool) -> None:
    """"LAPOR 1708 ANONIM ...": the service's name as people write it, then the flag. Read as the text's first words,
    the ANONIM was missed and the reporter's number reached the agency."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.kind.value, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, body, kind, anonymous, confidential)


@pytest.mark.parametrize(("text", "action", "tracking_id", "body", "anonymous", "confidential", "language"), [
    pytest.param(f"ANONIM CEK {VALID}", Action.STATUS, VALID, "", True, False, "id", id="anonim-cek"),
    pytest.param(f"anonim cek {VALID}", Action.STATUS, VALID, "", True, False, "id", id="lowercase"),
    pytest.param(f"RAHASIA CEK {VALID}", Action.STATUS, VALID, "", False, True, "id", id="rahasia-cek"),
    pytest.param(f"ANONYMOUS CHECK {VALID}", Action.STATUS, VALID, "", True, False, "en", id="english"),
    pytest.param(f"Secret track {VALID}", Action.STATUS, VALID, "", False, True, "en", id="english-secret-track"),
    pytest.param(f"Anon status no. {VALID}", Action.STATUS, VALID, "", True, False, "id", id="anon-status-filler"),
    pytest.param(f"ANONIM: CEK: {VALID}", Action.STATUS, VALID, "", True, False, "id", id="colons"),
    pytest.param(f"ANONIM, cek {VALID}?", Action.STATUS, VALID, "", True, False, "id", id="comma-question-mark"),
    pytest.param(f"[ANONIM] cek#{VALID}", Action.STATUS, VALID, "", True, False, "id", id="tag-glued-id"),
    pytest.param(f"*RAHASIA* CEK ({VALID})", Action.STATUS, VALID, "", False, True, "id", id="bold-brackets"),
    pytest.param(f"#anonim cek {VALID}", Action.STATUS, VALID, "", True, False, "id", id="hashtag"),
    pytest.param(f"ANONIM RAHASIA CEK {VALID}", Action.STATUS, VALID, "", True, True, "id", id="both-flags"),
    # The words after the ID are dropped by the query, as after "CEK <id>"; a photo takes them (next test).
    pytest.param(f"ANONIM CEK {VALID} lubangnya makin besar", Action.STATUS, VALID, "lubangnya makin besar", True,
                 False, "id", id="words-after-the-id"),
    pytest.param(f"1708 ANONIM CEK {VALID}", Action.STATUS, VALID, "", True, False, "id", id="short-code-first"),
    pytest.param(f"ANONIM 1708 CEK {VALID}", Action.STATUS, VALID, "", True, False, "id", id="short-code-between"),
    pytest.param(f"🙏 ANONIM CEK {VALID}", Action.STATUS, VALID, "", True, False, "id", id="emoji-first"),
    pytest.param(f"ANONIM 🙏 CEK {VALID}", Action.STATUS, VALID, "", True, False, "id", id="emoji-between"),
    # The flag between the command and the ID: skipped as a filler is.
    pytest.param(f"CEK ANONIM {VALID}", Action.STATUS, VALID, "", True, False, "id", id="flag-after-the-command"),
    pytest.param(f"cek [rahasia] no. {VALID}", Action.STATUS, VALID, "", False, True, "id",
                 id="tag-and-filler-after-the-command"),
    # An ID named with "laporan" or "Nomor lacak", as without the flag ("laporan" is not taken as a kind here).
    pytest.param(f"ANONIM laporan {VALID}", Action.STATUS, VALID, "", True, False, "id", id="anonim-laporan-id"),
    pytest.param(f"RAHASIA Nomor lacak: {VALID}", Action.STATUS, VALID, "", False, True, "id",
                 id="rahasia-nomor-lacak"),
    # A mistyped ID asked about: the query it is without the flag, answered "not valid".
    pytest.param(f"ANONIM CEK {BAD}", Action.BAD_TRACKING_ID, BAD, "", True, False, "id", id="cek-bad-check-digit"),
    pytest.param("ANONIM CEK 12345", Action.BAD_TRACKING_ID, "12345", "", True, False, "id", id="cek-too-short"),
    pytest.param(f"ANONIM {BAD}", Action.BAD_TRACKING_ID, BAD, BAD, True, False, "id", id="bad-id-alone"),
    # A status command and no ID: how to ask, as "CEK" alone.
    pytest.param("ANONIM CEK", Action.STATUS_HELP, None, "", True, False, "id", id="anonim-cek-alone"),
    pytest.param("CEK ANONIM", Action.STATUS_HELP, None, "", True, False, "id", id="cek-anonim-alone"),
    pytest.param("ANONIM cek laporan saya", Action.STATUS_HELP, None, "", True, False, "id", id="anonim-cek-fillers"),
    pytest.param("ANONIM cek laporan kemarin", Action.STATUS_HELP, None, "", True, False, "id",
                 id="anonim-cek-status-question"),
    pytest.param("ANONIM gimana laporan saya?", Action.STATUS_HELP, None, "", True, False, "id",
                 id="anonim-status-question-without-a-command"),
    # Reports still, as without the flag: "laporan <id> <words>" is a report (a filler such as "laporan" also opens
    # prose), and so is a status word followed by words.
    pytest.param(f"ANONIM laporan {VALID} jalan masih rusak", Action.REPORT, None, f"{VALID} jalan masih rusak", True,
                 False, "id", id="anonim-laporan-id-words-is-a-report"),
    pytest.param("ANONIM cek pungli di pasar", Action.REPORT, None, "cek pungli di pasar", True, False, "id",
                 id="anonim-cek-prose"),
    pytest.param(f"ANONIM status pembayaran {VALID} belum jelas", Action.REPORT, None,
                 f"status pembayaran {VALID} belum jelas", True, False, "id", id="anonim-status-noun"),
    # A status word then the flag and words: a report of them, anonymous (the ANONIM was the citizen's wish).
    pytest.param("Cek anonim pungli di pasar", Action.REPORT, None, "Cek anonim pungli di pasar", True, False, "id",
                 id="cek-flag-prose"),
])
def test_a_flag_word_changes_nothing_for_a_status_query(text: str, action: Action, tracking_id: str | None,
                                                        body: str, anonymous: bool, confidential: bool,
                                                        language: str) -> None:
    """"ANONIM CEK <id>": help teaches "Tambah ANONIM" and "CEK <nomor lacak>", and some put the two together. It was
    an anonymous new report of "CEK <id>": an empty case for an agency, and a new Tracking ID where the citizen asked
    for a status. It is the status query "CEK <id>" is; its flags are kept for a photo sent with it."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.anonymous, parsed.confidential,
            parsed.language) == (action, tracking_id, body, anonymous, confidential, language)


@pytest.mark.parametrize(("text", "action", "kind", "body", "anonymous"), [
    pytest.param(f"WBS CEK {VALID}", Action.STATUS, "complaint", "", False, id="wbs-cek-id"),
    pytest.param(f"LAPOR ANONIM CEK {VALID}", Action.STATUS, "complaint", "", True, id="lapor-anonim-cek-id"),
    pytest.param(f"LAPOR {VALID}", Action.STATUS, "complaint", "", False, id="lapor-id"),
    # With words after the ID the citizen tells that report something: its addition, as "LAPOR CEK <id> ..." (filed
    # as a new report, the ID in its text, it was a named report beside an anonymous report's ID), the flags kept.
    pytest.param(f"WBS CEK {VALID} kepala dinas minta setoran lagi", Action.STATUS, "complaint",
                 "kepala dinas minta setoran lagi", False, id="wbs-cek-id-and-words"),
    pytest.param(f"LAPOR ANONIM CEK {VALID} pungli lagi di loket", Action.STATUS, "complaint",
                 "pungli lagi di loket", True, id="lapor-anonim-cek-id-and-words"),
    pytest.param(f"ASPIRASI CEK {VALID} usul halte baru", Action.STATUS, "complaint",
                 "usul halte baru", False, id="aspirasi-cek-id-and-words"),
    pytest.param(f"WBS ANONIM CEK {VALID} kepala dinas minta setoran lagi", Action.STATUS, "complaint",
                 "kepala dinas minta setoran lagi", True, id="wbs-anonim-cek-id-and-words"),
    # A mistyped ID with words after it stays a report of the whole text.
    pytest.param(f"WBS CEK {BAD} kepala dinas minta setoran lagi", Action.REPORT, "whistleblowing",
                 f"CEK {BAD} kepala dinas minta setoran lagi", False, id="wbs-cek-mistyped-id-and-words"),
    pytest.param("WBS cek 2 lampu jalan mati", Action.REPORT, "whistleblowing", "cek 2 lampu jalan mati", False,
                 id="wbs-cek-a-count"),
    # Our short code between kind words, over and over: each pair was read again from its start, in a call of its
    # own (RecursionError from 250 pairs, a message of 2,300 characters) and in time quadratic in the text.
    pytest.param("WBS 1708 " * 2_000 + "kepala dinas minta setoran", Action.REPORT, "whistleblowing",
                 "1708 " + "WBS 1708 " * 1_999 + "kepala dinas minta setoran", False,
                 id="kind-and-short-code-repeated"),
])
def test_a_status_query_after_a_kind_word_is_one_only_without_words_after_it(
        text: str, action: Action, kind: str, body: str, anonymous: bool) -> None:
    parsed = parse_text(text)
    assert (parsed.action, parsed.kind.value, parsed.text, parsed.anonymous) == (action, kind, body, anonymous)


@pytest.mark.parametrize(("text", "follow_up_of", "body", "anonymous", "confidential", "mistyped_id"), [
    pytest.param(f"ANONIM CEK {VALID} lubangnya makin besar", VALID, "lubangnya makin besar", True, False, None,
                 id="anonim-cek-id-words"),
    pytest.param(f"RAHASIA CEK {VALID}", VALID, "", False, True, None, id="rahasia-cek-id"),
    pytest.param(f"ANONYMOUS CHECK {VALID}", VALID, "", True, False, None, id="english"),
    pytest.param(f"CEK ANONIM {VALID}: foto loketnya", VALID, "foto loketnya", True, False, None,
                 id="flag-after-the-command"),
    pytest.param(f"ANONIM laporan {VALID}", VALID, "", True, False, None, id="anonim-laporan-id"),
    # No report can be named: a report of its own, as typed, anonymous (as "CEK <mistyped>" with a photo is).
    pytest.param(f"RAHASIA CEK {BAD}", None, f"RAHASIA CEK {BAD}", True, True, BAD, id="mistyped-id"),
    # A status command and no ID, with a photo: a report of it, as typed, with its flag.
    pytest.param("ANONIM CEK", None, "ANONIM CEK", True, False, None, id="anonim-cek-alone"),
    pytest.param("CEK ANONIM", None, "CEK ANONIM", True, False, None, id="cek-anonim-alone"),
    # A status question without an ID, with a photo: the same, the question as typed.
    pytest.param("ANONIM cek laporan kemarin", None, "ANONIM cek laporan kemarin", True, False, None,
                 id="anonim-status-question"),
    pytest.param("ANONIM gimana laporan saya?", None, "ANONIM gimana laporan saya?", True, False, None,
                 id="anonim-status-question-without-a-command"),
])
def test_a_flagged_status_query_sent_with_a_photo_keeps_its_flags(text: str, follow_up_of: str | None, body: str,
                                                                  anonymous: bool, confidential: bool,
                                                                  mistyped_id: str | None) -> None:
    """"ANONIM CEK <id>" with a photo is a follow-up of that report, as "CEK <id>" with one is, and anonymous
    whatever the report's flags: a witness adding a photo to someone else's named report keeps their number from the
    case store (gateway/followups.py files an anonymous follow-up without its sender)."""
    normalized = normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="MM1", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC),
        attachments=[PHOTO]))
    draft = normalized.draft
    assert draft is not None and len(draft.attachments) == 1
    assert (draft.follow_up_of, draft.text, draft.anonymous, draft.confidential, normalized.mistyped_id) == (
        follow_up_of, body, anonymous, confidential, mistyped_id)


@pytest.mark.parametrize(("text", "kind"), [
    pytest.param("WBS gimana laporan saya?", "whistleblowing", id="wbs"),
    pytest.param("LAPOR! WBS laporan saya belum", "whistleblowing", id="lapor-wbs"),
    pytest.param("ASPIRASI laporan saya?", "aspiration", id="aspirasi"),
    pytest.param("Lapor pak, nomor saya berapa?", "complaint", id="lapor"),
])
def test_a_status_question_after_a_kind_word_sent_with_a_photo_keeps_its_kind(text: str, kind: str) -> None:
    """A status question after a kind word is how to ask (`[status_questions]`); with a photo it is a report of it,
    under that kind: a whistleblower's evidence was filed as a plain complaint."""
    normalized = normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="MM1", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC),
        attachments=[PHOTO]))
    assert parse_text(text).action is Action.STATUS_HELP
    draft = normalized.draft
    assert draft is not None and len(draft.attachments) == 1
    assert (draft.kind.value, draft.text) == (kind, text)


@pytest.mark.parametrize(("text", "action", "anonymous", "language"), [
    # A status question without an ID: how to ask. Filed, it was a new report under the citizen's number.
    pytest.param("CEK laporan kemarin", Action.STATUS_HELP, False, "id", id="cek-laporan-kemarin"),
    pytest.param("CEK lupa nomornya", Action.STATUS_HELP, False, "id", id="cek-lupa-nomornya"),
    pytest.param("cek dong", Action.STATUS_HELP, False, "id", id="cek-dong"),
    pytest.param("cek status laporan saya gimana?", Action.STATUS_HELP, False, "id", id="cek-status-gimana"),
    pytest.param("status laporan saya bagaimana", Action.STATUS_HELP, False, "id", id="status-bagaimana"),
    pytest.param("gimana laporan saya?", Action.STATUS_HELP, False, "id", id="gimana-without-a-command"),
    pytest.param("tolong cek laporan saya", Action.STATUS_HELP, False, "id", id="plea-then-cek"),
    pytest.param("nomor lacak saya berapa?", Action.STATUS_HELP, False, "id", id="which-is-my-tracking-number"),
    pytest.param("check my report", Action.STATUS_HELP, False, "en", id="check-my-report"),
    pytest.param("what is the status of my report", Action.STATUS_HELP, False, "en", id="what-is-the-status"),
    pytest.param("CEK <nomor lacak>", Action.STATUS_HELP, False, "id", id="cek-placeholder-copied"),
    pytest.param("Cek status: laporan saya gimana?", Action.STATUS_HELP, False, "id", id="after-a-status-label"),
    pytest.param("🙏 cek dong", Action.STATUS_HELP, False, "id", id="after-emoji"),
    pytest.param("1708 cek dong", Action.STATUS_HELP, False, "id", id="after-our-short-code"),
    pytest.param("laporan saya gimana? ANONIM", Action.STATUS_HELP, True, "id", id="closing-flag"),
    pytest.param("Min, mau tanya laporan saya sudah sampai mana?", Action.STATUS_HELP, False, "id",
                 id="asking-said-in-words"),
    pytest.param("Min, laporan sy udah sampe mana?", Action.STATUS_HELP, False, "id", id="sampe"),
    pytest.param("laporan sy sdh smp mana?", Action.STATUS_HELP, False, "id", id="smp-before-mana"),
    # "smp" elsewhere is the school (SMP): a question about one is no status question.
    pytest.param("nomor SMP berapa?", Action.REPORT, False, "id", id="smp-a-school-nomor"),
    pytest.param("Hasil SMP kapan?", Action.REPORT, False, "id", id="smp-a-school-hasil"),
    pytest.param("kode smp berapa?", Action.REPORT, False, "id", id="smp-a-school-kode"),
    pytest.param("what happened to my complaint?", Action.STATUS_HELP, False, "en", id="what-happened"),
    pytest.param("Has my report been processed?", Action.STATUS_HELP, False, "en", id="has-been-processed"),
    pytest.param("Any news on my report?", Action.STATUS_HELP, False, "en", id="any-news"),
    pytest.param("bagaimana tindak lanjut laporan saya?", Action.STATUS_HELP, False, "id", id="tindak-lanjut"),
    pytest.param("kelanjutan laporan saya gimana?", Action.STATUS_HELP, False, "id", id="kelanjutan"),
    # What became of it asked with nothing else named: of the report.
    pytest.param("udah ditindaklanjuti belum?", Action.STATUS_HELP, False, "id", id="state-asked-alone"),
    pytest.param("kok belum dibalas?", Action.STATUS_HELP, False, "id", id="answer-asked-alone"),
    pytest.param("sudah diproses", Action.REPORT, False, "id", id="state-stated-alone"),
    pytest.param("jalan sudah diproses?", Action.REPORT, False, "id", id="state-of-something-named"),
    pytest.param("Saya belum dapat nomor lacak", Action.STATUS_HELP, False, "id", id="belum-dapat-nomor"),
    pytest.param("bagaimana cara cek status laporan?", Action.STATUS_HELP, False, "id", id="how-to-check"),
    pytest.param("Cek hasil lab saya belum keluar", Action.REPORT, False, "id", id="hasil-prose"),
    pytest.param("saya mau tanya soal bansos", Action.REPORT, False, "id", id="asking-without-a-topic"),
    pytest.param("laporan saya kok belum ada tanggapan?", Action.STATUS_HELP, False, "id", id="no-answer-yet-asked"),
    pytest.param("laporan saya belum ada tanggapan", Action.REPORT, False, "id", id="no-answer-yet-stated"),
    # The number lost or forgotten: where it is.
    pytest.param("saya lupa nomor lacak", Action.STATUS_HELP, False, "id", id="forgot-the-tracking-number"),
    pytest.param("nomor laporan saya hilang", Action.STATUS_HELP, False, "id", id="lost-the-report-number"),
    pytest.param("I lost my tracking number", Action.STATUS_HELP, False, "en", id="lost-en"),
    pytest.param("what's my report status", Action.STATUS_HELP, False, "en", id="whats-my-report-status"),
    pytest.param("KTP saya hilang", Action.REPORT, False, "id", id="something-else-lost"),
    # What became of the report, asked with a "?" ("diproses", `states`); without it a grievance: a report, below.
    pytest.param("laporan saya sudah diproses?", Action.STATUS_HELP, False, "id", id="state-word-in-a-question"),
    pytest.param("laporan saya belum diproses", Action.REPORT, False, "id", id="state-word-without-a-question"),
    # A duration before the question is no Tracking ID; "can you" asks as "tolong" does.
    pytest.param("Sudah 2 minggu laporan saya belum ada tanggapan?", Action.STATUS_HELP, False, "id",
                 id="a-duration-in-the-question"),
    pytest.param("Sudah 2 minggu jalan rusak belum diperbaiki", Action.REPORT, False, "id",
                 id="a-duration-in-a-complaint"),
    pytest.param("Sudah 2 minggu laporan saya belum ditindaklanjuti", Action.REPORT, False, "id",
                 id="a-duration-in-a-grievance"),
    pytest.param("can you check my report?", Action.STATUS_HELP, False, "en", id="can-you-check-my-report"),
    pytest.param("can you check the road", Action.REPORT, False, "en", id="can-you-check-the-road"),
    # A complaint that opens with a status word names something: a report, as before.
    pytest.param("Cek kondisi jembatan di desa kami yang rusak", Action.REPORT, False, "id", id="cek-jembatan"),
    pytest.param("cek harga beras naik terus", Action.REPORT, False, "id", id="cek-harga-beras"),
    pytest.param("check the broken street light on Jl. Merdeka", Action.REPORT, False, "en", id="check-street-light"),
    pytest.param("Status jalan desa kami gimana?", Action.REPORT, False, "id", id="status-of-a-road"),
    pytest.param("laporan saya belum ditindaklanjuti sampai sekarang", Action.REPORT, False, "id",
                 id="laporan-complaint"),
    pytest.param("gimana ini jalan rusak parah", Action.REPORT, False, "id", id="gimana-complaint"),
    pytest.param("ANONIM cek pungli di pasar", Action.REPORT, True, "id", id="anonim-cek-prose"),
    # The words alone, without a topic and a question: as before ("apa kabar" greets, "laporan saya" may open prose).
    pytest.param("laporan saya", Action.REPORT, False, "id", id="topic-without-a-question"),
    pytest.param("apa kabar?", Action.REPORT, False, "id", id="question-without-a-topic"),
    pytest.param("gimana laporan saya " * 4, Action.REPORT, False, "id", id="more-words-than-a-question-has"),
])
def test_a_status_question_without_an_id_is_answered_with_how_to_ask(text: str, action: Action, anonymous: bool,
                                                                      language: str) -> None:
    """"CEK laporan kemarin", "cek dong", "gimana laporan saya?": a citizen asking about their report without its
    Tracking ID is told how to ask and where the ID is (`[status_questions]`). Filed, it was a new report under their
    number, a spurious case at the agency; "Cek kondisi jembatan ..." names something, and stays a report."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.language) == (action, anonymous, language)
    assert parsed.text == "" or action is Action.REPORT


@pytest.mark.parametrize(("text", "action", "tracking_id", "anonymous", "language"), [
    # Only words of a status question and one valid Tracking ID: the status query for it (each was a new report).
    pytest.param(f"bagaimana status laporan {VALID}?", Action.STATUS, VALID, False, "id", id="bagaimana-status"),
    pytest.param(f"gimana laporan {VALID}?", Action.STATUS, VALID, False, "id", id="gimana-laporan"),
    pytest.param(f"laporan {VALID} sudah sampai mana?", Action.STATUS, VALID, False, "id", id="id-in-the-middle"),
    pytest.param(f"apa kabar laporan saya {VALID}", Action.STATUS, VALID, False, "id", id="apa-kabar-laporan"),
    pytest.param(f"mohon info laporan {VALID}", Action.STATUS, VALID, False, "id", id="mohon-info"),
    # "why" asks how it stands too: "kenapa laporan <id> belum ditindaklanjuti?"
    pytest.param(f"laporan {VALID} kenapa belum ditindaklanjuti?", Action.STATUS, VALID, False, "id", id="kenapa"),
    pytest.param(f"knp laporan {VALID} blm diproses?", Action.STATUS, VALID, False, "id", id="knp"),
    pytest.param("kenapa laporan saya ditolak?", Action.REPORT, None, False, "id", id="kenapa-ditolak-stays-a-report"),
    pytest.param("kenapa jalan di desa kami rusak?", Action.REPORT, None, False, "id", id="kenapa-prose-stays"),
    pytest.param(f"sudah ditindaklanjuti belum laporan {VALID}?", Action.STATUS, VALID, False, "id",
                 id="sudah-ditindaklanjuti-belum"),
    pytest.param(f"laporan saya {VALID} gimana?", Action.STATUS, VALID, False, "id", id="named-then-a-question"),
    pytest.param(f"what is the status of report {VALID}", Action.STATUS, VALID, False, "en", id="what-is-the-status"),
    pytest.param(f"any update on report {VALID}?", Action.STATUS, VALID, False, "en", id="any-update"),
    pytest.param(f"where is my report {VALID}", Action.STATUS, VALID, False, "en", id="where-is-my-report"),
    pytest.param(f"Min mau tanya laporan {VALID} sudah sampai mana?", Action.STATUS, VALID, False, "id",
                 id="asking-said-in-words"),
    pytest.param(f"@lapor1708 laporan saya {VALID} kok belum ada tanggapan?", Action.STATUS, VALID, False, "id",
                 id="no-answer-yet-asked"),
    pytest.param(f"no reply yet for my report {VALID}?", Action.STATUS, VALID, False, "en", id="no-reply-yet-en"),
    pytest.param(f"gimana laporan #{VALID.translate(FULLWIDTH)}?", Action.STATUS, VALID, False, "id",
                 id="hash-and-fullwidth-digits"),
    pytest.param(f"{VALID} gimana laporan saya?", Action.STATUS, VALID, False, "id", id="id-first"),
    # The ID first names the report as a topic word does; a topic word names it beside the ID without a question
    # word; "sampai" and "sudah" as they are typed. Each was an addition of the question, or a new report.
    pytest.param(f"{VALID} sudah sampai mana?", Action.STATUS, VALID, False, "id", id="id-first-without-a-topic"),
    pytest.param(f"{VALID} gimana?", Action.STATUS, VALID, False, "id", id="id-first-gimana"),
    pytest.param(f"perkembangan laporan {VALID}", Action.STATUS, VALID, False, "id", id="topic-and-id"),
    pytest.param(f"kode laporan {VALID}", Action.STATUS, VALID, False, "id", id="kode-laporan"),
    pytest.param(f"sdh smp mana laporan {VALID}", Action.STATUS, VALID, False, "id", id="smp"),
    pytest.param(f"Min laporan {VALID} udh diproses blm?", Action.STATUS, VALID, False, "id", id="udh"),
    # A word that asks it checked where no status command opens the text, and "sudah ... belum" without its "?".
    pytest.param(f"mohon dicek {VALID}", Action.STATUS, VALID, False, "id", id="mohon-dicek"),
    pytest.param(f"follow up {VALID}", Action.STATUS, VALID, False, "id", id="follow-up-then-the-id"),
    pytest.param(f"tolong difollow up laporan {VALID}", Action.STATUS, VALID, False, "id", id="difollow-up"),
    pytest.param("follow up pungli di kelurahan", Action.REPORT, None, False, "id", id="follow-up-prose"),
    pytest.param(f"mohon dicek {VALID} jalan masih rusak", Action.REPORT, None, False, "id", id="dicek-and-words"),
    pytest.param(f"Nomor laporan {VALID} sudah ditanggapi belum", Action.STATUS, VALID, False, "id",
                 id="sudah-belum-without-a-question-mark"),
    pytest.param(f"laporan {VALID} belum diproses", Action.REPORT, None, False, "id", id="belum-alone-a-grievance"),
    pytest.param("jalan sudah diperbaiki belum", Action.REPORT, None, False, "id", id="sudah-belum-of-something"),
    pytest.param(f"tlg cek laporan {VALID}", Action.STATUS, VALID, False, "id", id="tlg"),
    pytest.param(f"gmn kbr laporan {VALID}", Action.STATUS, VALID, False, "id", id="kbr"),
    pytest.param(f"Bagaimana tindak lanjut laporan {VALID}?", Action.STATUS, VALID, False, "id", id="tindak-lanjut"),
    pytest.param(f"How is my complaint {VALID} going?", Action.STATUS, VALID, False, "en", id="going"),
    pytest.param(f"Is there any progress on report {VALID}?", Action.STATUS, VALID, False, "en", id="is-there"),
    pytest.param(f"Follow up laporan {VALID}", Action.STATUS, VALID, False, "id", id="follow-up-laporan"),
    pytest.param(f"{VALID} gimana kelanjutannya?", Action.STATUS, VALID, False, "id", id="kelanjutannya"),
    pytest.param(f"hasil laporan {VALID}", Action.STATUS, VALID, False, "id", id="hasil"),
    pytest.param(f"Min, tolong cek status laporan saya {VALID} ya. Terima kasih", Action.STATUS, VALID, False, "id",
                 id="closing-thanks"),
    pytest.param(f"LAPOR! gimana laporan {VALID}?", Action.STATUS, VALID, False, "id", id="after-a-kind-word"),
    pytest.param(f"ANONIM gimana laporan {VALID}?", Action.STATUS, VALID, True, "id", id="after-a-flag"),
    pytest.param(f"🙏 1708 gimana laporan {VALID}?", Action.STATUS, VALID, False, "id", id="after-emoji-short-code"),
    # Any other word, a second number, no topic, or a word of what became of the report without a "?": as before.
    pytest.param(f"{VALID} jalan masih rusak", Action.FOLLOW_UP, VALID, False, "id", id="follow-up"),
    pytest.param(f"{VALID} sudah diperbaiki?", Action.FOLLOW_UP, VALID, False, "id", id="id-first-other-words"),
    pytest.param(f"{VALID} belum diproses", Action.FOLLOW_UP, VALID, False, "id", id="id-first-a-grievance"),
    pytest.param(f"laporan {VALID} diproses", Action.REPORT, None, False, "id", id="topic-id-and-a-state"),
    pytest.param(f"{VALID} nomor anonim meneror saya", Action.FOLLOW_UP, VALID, False, "id",
                 id="a-flag-word-in-an-addition-s-prose"),
    pytest.param(f"laporan {VALID} belum ditindaklanjuti, jalan masih rusak parah", Action.REPORT, None, False, "id",
                 id="question-then-a-report"),
    pytest.param(f"laporan {VALID} belum ditindaklanjuti", Action.REPORT, None, False, "id",
                 id="a-grievance-without-a-question-mark"),
    pytest.param(f"gimana laporan {AMOUNT} rupiah?", Action.REPORT, None, False, "id", id="an-amount"),
    pytest.param(f"gimana laporan {VALID} {VALID}?", Action.REPORT, None, False, "id", id="two-numbers"),
    pytest.param(f"gimana {VALID}", Action.REPORT, None, False, "id", id="no-topic"),
    # A mistyped ID (or one shorter than any minted) in such a question: as without the question's words.
    pytest.param(f"gimana laporan {BAD}?", Action.REPORT, None, False, "id", id="mistyped-id-a-report"),
    pytest.param(f"cek laporan {BAD} gimana?", Action.BAD_TRACKING_ID, BAD, False, "id",
                 id="mistyped-id-after-a-status-command"),
    pytest.param(f"{BAD} gimana laporan saya?", Action.BAD_TRACKING_ID, BAD, False, "id", id="mistyped-id-first"),
    pytest.param(f"gimana laporan {SHORT_VALID}?", Action.REPORT, None, False, "id", id="shorter-than-any-minted"),
])
def test_a_status_question_with_a_tracking_id_is_its_status_query(text: str, action: Action, tracking_id: str | None,
                                                                  anonymous: bool, language: str) -> None:
    """"gimana laporan 12345678?", "where is my report 12345678": the words of a status question (`[status_questions]`)
    and one valid Tracking ID ask for that report's status, in the citizen's language. Filed, each was a spurious case
    at the agency and a new Tracking ID for a citizen asking about the old one."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.tracking_id, parsed.anonymous, parsed.language) == (
        action, tracking_id, anonymous, language)
    assert parsed.text == "" or action is not Action.STATUS


@pytest.mark.parametrize(("text", "action", "text_kept", "anonymous"), [
    pytest.param(f"{VALID} cek", Action.STATUS, "", False, id="id-then-cek"),
    pytest.param(f"{VALID}: cek status laporan saya?", Action.STATUS, "", False, id="id-then-cek-and-fillers"),
    pytest.param(f"{VALID} check my report", Action.STATUS, "", False, id="english"),
    pytest.param(f"ANONIM {VALID} CEK", Action.STATUS, "", True, id="flag-id-then-cek"),
    pytest.param(f"1708 {VALID} status", Action.STATUS, "", False, id="short-code-id-then-status"),
    # Any other word is the citizen's to add, a status word among them included.
    pytest.param(f"{VALID} cek lagi", Action.FOLLOW_UP, "cek lagi", False, id="other-words"),
    pytest.param(f"{VALID} status pembayaran belum jelas", Action.FOLLOW_UP, "status pembayaran belum jelas", False,
                 id="a-status-word-in-prose"),
    pytest.param(f"{VALID} laporan saya", Action.FOLLOW_UP, "laporan saya", False, id="fillers-without-a-command"),
])
def test_an_id_followed_by_a_status_command_is_the_status_query(text: str, action: Action, text_kept: str,
                                                                anonymous: bool) -> None:
    """"12345678 cek status": the status query with the ID first. It was a follow-up adding "cek status" to the
    report, answered "addition received", and the citizen never got the status."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.anonymous) == (action, VALID, text_kept, anonymous)


FOLLOW_UP, STATUS, REPORT = Action.FOLLOW_UP, Action.STATUS, Action.REPORT


@pytest.mark.parametrize(("text", "action", "tracking_id", "body", "anonymous", "confidential", "language"), [
    # Help's own label before the ID ("Tambahan: <nomor lacak> <isi>"): the follow-up "<id> <isi>" is.
    pytest.param(f"Tambahan: {VALID} jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False, False, "id",
                 id="label-colon"),
    pytest.param(f"TAMBAHAN {VALID} jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False, False, "id",
                 id="label-uppercase"),
    pytest.param(f"Tambahan untuk laporan {VALID}: jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False,
                 False, "id", id="label-and-fillers"),
    pytest.param(f"tambahan - nomor lacak #{VALID} - jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False,
                 False, "id", id="label-dashes-and-hash"),
    pytest.param(f"Tambahan: {VALID} 2 motor jatuh lagi", FOLLOW_UP, VALID, "2 motor jatuh lagi", False, False, "id",
                 id="text-opens-with-a-number"),
    # The flags wherever "<id> <isi>" reads them (before the label as before the ID, after the ID, as a hashtag), and
    # between the label and the ID.
    pytest.param(f"ANONIM Tambahan: {VALID} saya saksi, petugas minta uang", FOLLOW_UP, VALID,
                 "saya saksi, petugas minta uang", True, False, "id", id="flag-before-the-label"),
    pytest.param(f"Tambahan {VALID} ANONIM saya saksi", FOLLOW_UP, VALID, "saya saksi", True, False, "id",
                 id="flag-after-the-id"),
    pytest.param(f"Tambahan ANONIM {VALID} saya saksi", FOLLOW_UP, VALID, "saya saksi", True, False, "id",
                 id="flag-between-the-label-and-the-id"),
    pytest.param(f"tambahan: {VALID} ada rekaman suaranya #rahasia", FOLLOW_UP, VALID, "ada rekaman suaranya", False,
                 True, "id", id="hashtag"),
    pytest.param(f"1708 Tambahan: {VALID} foto lubangnya", FOLLOW_UP, VALID, "foto lubangnya", False, False, "id",
                 id="short-code-first"),
    pytest.param(f"🙏 Tambahan: {VALID} foto lubangnya", FOLLOW_UP, VALID, "foto lubangnya", False, False, "id",
                 id="emoji-first"),
    pytest.param(f"ADD {VALID} the hole is bigger now", FOLLOW_UP, VALID, "the hole is bigger now", False, False,
                 "en", id="english-add"),
    pytest.param(f"Addition: {VALID} the hole is bigger now", FOLLOW_UP, VALID, "the hole is bigger now", False,
                 False, "en", id="english-addition"),
    pytest.param(f"Add to my report {VALID}: the hole is bigger now", FOLLOW_UP, VALID, "the hole is bigger now",
                 False, False, "en", id="english-fillers"),
    # The other words people put there for "continued" or "about": each was a new report with a new Tracking ID.
    pytest.param(f"Lanjutan laporan {VALID}: lubang makin besar", FOLLOW_UP, VALID, "lubang makin besar", False,
                 False, "id", id="lanjutan"),
    pytest.param(f"update laporan {VALID} jalan sudah ditambal sebagian", FOLLOW_UP, VALID,
                 "jalan sudah ditambal sebagian", False, False, "id", id="update"),
    pytest.param(f"Re: {VALID} masih belum diperbaiki", FOLLOW_UP, VALID, "masih belum diperbaiki", False, False,
                 "id", id="re"),
    pytest.param(f"Untuk laporan {VALID}, sekarang lubangnya tambah besar", FOLLOW_UP, VALID,
                 "sekarang lubangnya tambah besar", False, False, "id", id="untuk-laporan"),
    pytest.param("Untuk warga desa, jalan rusak", REPORT, None, "Untuk warga desa, jalan rusak", False, False, "id",
                 id="untuk-prose"),
    pytest.param("update harga cabai naik terus", REPORT, None, "update harga cabai naik terus", False, False, "id",
                 id="update-prose"),
    # The Tracking ID named as our answers name it, words after it: an addition; another name opens prose.
    pytest.param(f"Nomor lacak saya {VALID}, jalan makin rusak", FOLLOW_UP, VALID, "jalan makin rusak", False, False,
                 "id", id="nomor-lacak-then-words"),
    pytest.param(f"tracking number {VALID} still broken", FOLLOW_UP, VALID, "still broken", False, False, "en",
                 id="tracking-number-then-words"),
    pytest.param(f"No. {VALID} jalan masih rusak", REPORT, None, f"No. {VALID} jalan masih rusak", False, False, "id",
                 id="no-then-words"),
    # The ID alone after the label: a status query, as the ID alone is (with a photo: the next test).
    pytest.param(f"Tambahan: {VALID}", STATUS, VALID, "", False, False, "id", id="label-and-id-alone"),
    pytest.param(f"ANONIM Tambahan: {VALID}", STATUS, VALID, "", True, False, "id", id="flag-label-and-id-alone"),
    pytest.param(f"Addition: {VALID}", STATUS, VALID, "", False, False, "en", id="english-label-and-id-alone"),
    # A mistyped ID: answered "not valid" as "<mistyped> <isi>" is, when written as help's label (a colon, fillers);
    # right after the bare word, a number that fails the check and words are a report of the whole text (an extra
    # charge: "Tambahan 25000000 rupiah" was answered "not valid" and never filed). After a flag word, a report of the
    # whole text as "ANONIM <mistyped> <isi>" is (the words may be the complaint), still anonymous.
    pytest.param(f"Tambahan: {BAD} jalan masih rusak", Action.BAD_TRACKING_ID, BAD, f"{BAD} jalan masih rusak", False,
                 False, "id", id="mistyped-id"),
    pytest.param("Tambahan 25000000 rupiah diminta petugas", REPORT, None, "Tambahan 25000000 rupiah diminta petugas",
                 False, False, "id", id="an-amount-of-id-shape-right-after-the-word"),
    pytest.param("TAMBAHAN 150000000 untuk desa diselewengkan", REPORT, None,
                 "TAMBAHAN 150000000 untuk desa diselewengkan", False, False, "id", id="a-longer-amount-then-words"),
    pytest.param(f"Tambahan: {BAD}", Action.BAD_TRACKING_ID, BAD, BAD, False, False, "id", id="mistyped-id-alone"),
    # An amount or a count whose check digit holds, a unit word after it (`[commands] amount_units`): the citizen's,
    # after any label or none. Read as that ID, the complaint went to another report, or to none, never filed.
    pytest.param(f"Untuk {VALID_AMOUNT} rupiah dana desa dipotong", REPORT, None,
                 f"Untuk {VALID_AMOUNT} rupiah dana desa dipotong", False, False, "id", id="untuk-an-amount-in-rupiah"),
    pytest.param(f"About {VALID_AMOUNT} rupiah was taken by the village head", REPORT, None,
                 f"About {VALID_AMOUNT} rupiah was taken by the village head", False, False, "en",
                 id="about-an-amount-in-rupiah"),
    # A count's noun, "per" or "rp" after a valid ID is the citizen's word: that report's addition (read as an amount,
    # "Tambahan: <id> kk saya dicoret", help's taught form, was a new named report holding an anonymous report's ID)
    pytest.param(f"Update {VALID_AMOUNT} jiwa terdampak banjir", FOLLOW_UP, VALID_AMOUNT, "jiwa terdampak banjir",
                 False, False, "id", id="update-a-count-of-people"),
    pytest.param(f"Tambahan: {VALID} kk saya dicoret", FOLLOW_UP, VALID, "kk saya dicoret", False, False, "id",
                 id="taught-form-kk"),
    pytest.param(f"Tambahan {VALID} jiwa saya terancam", FOLLOW_UP, VALID, "jiwa saya terancam", False, False, "id",
                 id="bare-label-jiwa"),
    pytest.param(f"Tambahan {VALID} rp 500rb diminta lagi", FOLLOW_UP, VALID, "rp 500rb diminta lagi", False, False,
                 "id", id="bare-label-rp"),
    pytest.param(f"{VALID_AMOUNT} rupiah diminta kepala desa", REPORT, None,
                 f"{VALID_AMOUNT} rupiah diminta kepala desa", False, False, "id", id="an-amount-in-rupiah-first"),
    pytest.param(f"Untuk {VALID_AMOUNT},- dana desa dipotong", REPORT, None,
                 f"Untuk {VALID_AMOUNT},- dana desa dipotong", False, False, "id", id="an-amount-with-comma-dash"),
    pytest.param(f"{VALID_AMOUNT},- diminta petugas", REPORT, None, f"{VALID_AMOUNT},- diminta petugas", False, False,
                 "id", id="an-amount-with-comma-dash-first"),
    pytest.param(f"Update {VALID_AMOUNT}/bulan dipotong", REPORT, None, f"Update {VALID_AMOUNT}/bulan dipotong", False,
                 False, "id", id="a-rate"),
    pytest.param(f"Update {VALID_AMOUNT} per bulan dipotong", FOLLOW_UP, VALID_AMOUNT, "per bulan dipotong",
                 False, False, "id", id="a-rate-in-words"),
    pytest.param(f"untuk {VALID_AMOUNT}-an dipungut", REPORT, None, f"untuk {VALID_AMOUNT}-an dipungut", False, False,
                 "id", id="an-approximate-amount"),
    pytest.param(f"Untuk {VALID} foto menyusul", FOLLOW_UP, VALID, "foto menyusul", False, False, "id",
                 id="untuk-an-id-then-words"),
    pytest.param(f"ANONIM Tambahan: {BAD} jalan masih rusak", REPORT, None, f"Tambahan: {BAD} jalan masih rusak", True,
                 False, "id", id="flag-and-mistyped-id"),
    # No ID right after the label (and its fillers): the word is the citizen's, a report of the whole text.
    pytest.param("Tambahan biaya 50000 diminta petugas", REPORT, None, "Tambahan biaya 50000 diminta petugas", False,
                 False, "id", id="a-word-then-an-amount"),
    pytest.param(f"Tambahan biaya {AMOUNT} diminta petugas", REPORT, None,
                 f"Tambahan biaya {AMOUNT} diminta petugas", False, False, "id", id="a-word-then-an-id-shape"),
    pytest.param("Tambahan 500000 diminta petugas", REPORT, None, "Tambahan 500000 diminta petugas", False, False,
                 "id", id="an-amount-shorter-than-any-id"),
    pytest.param("Tambahan: 1.500.000 diminta petugas", REPORT, None, "Tambahan: 1.500.000 diminta petugas", False,
                 False, "id", id="an-amount-with-dots"),
    pytest.param("Tambahan: 081234567890 nomor saya", REPORT, None, "Tambahan: 081234567890 nomor saya", False, False,
                 "id", id="a-phone-number"),
    pytest.param("tambahan foto lubangnya", REPORT, None, "tambahan foto lubangnya", False, False, "id",
                 id="no-number"),
    pytest.param(f"Jalan {VALID} rusak", REPORT, None, f"Jalan {VALID} rusak", False, False, "id",
                 id="an-ordinary-word-then-an-id"),
    # A kind word first: a report, as "LAPOR: <id> ..." is.
    pytest.param(f"LAPOR Tambahan: {VALID} jalan masih rusak", REPORT, None, f"Tambahan: {VALID} jalan masih rusak",
                 False, False, "id", id="kind-word-first"),
])
def test_helps_label_before_a_tracking_id_makes_the_follow_up(text: str, action: Action, tracking_id: str | None,
                                                              body: str, anonymous: bool, confidential: bool,
                                                              language: str) -> None:
    """Help says "Tambahan: <nomor lacak> <isi>", and citizens type the label too. It was a new report holding the ID
    in its text, filed under their number even when the report they added to is anonymous. It is read as "<id>
    <isi>" is; a label followed by anything but an ID is the citizen's own word."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.anonymous, parsed.confidential,
            parsed.language) == (action, tracking_id, body, anonymous, confidential, language)


@pytest.mark.parametrize(("text", "follow_up_of", "body", "anonymous", "mistyped_id"), [
    pytest.param(f"Tambahan: {VALID}", VALID, "", False, None, id="label-and-id"),
    pytest.param(f"Tambahan: {VALID} foto lubangnya", VALID, "foto lubangnya", False, None, id="label-id-words"),
    pytest.param(f"ANONIM Tambahan: {VALID}", VALID, "", True, None, id="flag-label-and-id"),
    # No report can be named: a report of its own, as typed, anonymous (as "<mistyped>" with a photo is).
    pytest.param(f"Tambahan: {BAD} foto lubangnya", None, f"Tambahan: {BAD} foto lubangnya", True, BAD,
                 id="mistyped-id"),
])
def test_helps_label_and_a_tracking_id_with_a_photo_add_it_to_that_report(text: str, follow_up_of: str | None,
                                                                          body: str, anonymous: bool,
                                                                          mistyped_id: str | None) -> None:
    """"Tambahan: <id>" with a photo is what "<id>" with one is: the photo added to that report."""
    normalized = normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="MM1", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC),
        attachments=[PHOTO]))
    draft = normalized.draft
    assert draft is not None and len(draft.attachments) == 1
    assert (draft.follow_up_of, draft.text, draft.anonymous, normalized.mistyped_id) == (
        follow_up_of, body, anonymous, mistyped_id)


WBS = "whistleblowing"


@pytest.mark.parametrize(("text", "action", "tracking_id", "body", "anonymous", "confidential", "kind", "language"), [
    # Help's "Tambah ANONIM agar identitas dirahasiakan" as citizens write it: the word before the flag is the flag's.
    pytest.param("Tambah ANONIM preman minta uang parkir di pasar", REPORT, None, "preman minta uang parkir di pasar",
                 True, False, "complaint", "id", id="tambah-anonim"),
    pytest.param("TAMBAH ANONIM: preman minta uang parkir", REPORT, None, "preman minta uang parkir", True, False,
                 "complaint", "id", id="tambah-anonim-colon"),
    pytest.param("tambah rahasia kepala desa korupsi dana desa", REPORT, None, "kepala desa korupsi dana desa", False,
                 True, "complaint", "id", id="tambah-rahasia"),
    pytest.param("Tambahkan ANONIM preman minta uang", REPORT, None, "preman minta uang", True, False, "complaint",
                 "id", id="tambahkan"),
    pytest.param("pakai ANONIM preman minta uang", REPORT, None, "preman minta uang", True, False, "complaint", "id",
                 id="pakai"),
    pytest.param("Secara anonim, saya melaporkan pungli di samsat", REPORT, None, "saya melaporkan pungli di samsat",
                 True, False, "complaint", "id", id="secara-anonim"),
    pytest.param("Mohon ANONIM, lurah minta uang pelicin", REPORT, None, "lurah minta uang pelicin", True, False,
                 "complaint", "id", id="mohon-anonim"),
    pytest.param("Tambah [ANONIM] preman minta uang", REPORT, None, "preman minta uang", True, False, "complaint",
                 "id", id="tambah-tagged-flag"),
    pytest.param("Tambah #anonim preman minta uang", REPORT, None, "preman minta uang", True, False, "complaint",
                 "id", id="tambah-hashtag"),
    pytest.param("Add ANONIM the officer asked for a bribe", REPORT, None, "the officer asked for a bribe", True, False,
                 "complaint", "en", id="english-add"),
    pytest.param("REPORT with anonymous: the officer asked for a bribe", REPORT, None, "the officer asked for a bribe",
                 True, False, "complaint", "en", id="english-with"),
    # After the kind word, before it, between flag words, after our short code or emoji.
    pytest.param("Lapor tambah anonim jalan rusak", REPORT, None, "jalan rusak", True, False, "complaint", "id",
                 id="kind-then-tambah"),
    pytest.param("LAPOR tambah ANONIM preman minta uang", REPORT, None, "preman minta uang", True, False, "complaint",
                 "id", id="kind-uppercase-then-tambah"),
    pytest.param("Tambah ANONIM WBS camat terima suap", REPORT, None, "camat terima suap", True, False, WBS, "id",
                 id="tambah-then-kind"),
    pytest.param("WBS tambah ANONIM dan RAHASIA camat terima suap", REPORT, None, "camat terima suap", True, True, WBS,
                 "id", id="kind-tambah-flag-dan-flag"),
    pytest.param("1708 tambah anonim pungli di pasar", REPORT, None, "pungli di pasar", True, False, "complaint", "id",
                 id="short-code-then-tambah"),
    pytest.param("🙏 Tambah ANONIM pungli di pasar", REPORT, None, "pungli di pasar", True, False, "complaint", "id",
                 id="emoji-then-tambah"),
    # At the end: taken off with the flag when punctuation sets them apart, kept (the flag set) after a plain space.
    pytest.param("Preman minta uang parkir, tambah ANONIM", REPORT, None, "Preman minta uang parkir", True, False,
                 "complaint", "id", id="trailing-tambah-anonim"),
    pytest.param("Camat terima suap. ANONIM dan RAHASIA", REPORT, None, "Camat terima suap.", True, True, "complaint",
                 "id", id="trailing-two-flags-joined"),
    pytest.param("jalan rusak tambah ANONIM", REPORT, None, "jalan rusak tambah ANONIM", True, False, "complaint",
                 "id", id="trailing-after-a-plain-space"),
    # A follow-up's flags: before the ID, after it, between help's label and the ID.
    pytest.param(f"Tambah ANONIM {VALID} saya saksi", FOLLOW_UP, VALID, "saya saksi", True, False, "complaint", "id",
                 id="tambah-anonim-before-the-id"),
    pytest.param(f"{VALID} tambah anonim saya saksi", FOLLOW_UP, VALID, "saya saksi", True, False, "complaint", "id",
                 id="tambah-anonim-after-the-id"),
    pytest.param(f"Tambahan tambah ANONIM {VALID} saya saksi", FOLLOW_UP, VALID, "saya saksi", True, False,
                 "complaint", "id", id="tambah-anonim-after-the-label"),
    pytest.param(f"Tambah ANONIM CEK {VALID}", STATUS, VALID, "", True, False, "complaint", "id",
                 id="tambah-anonim-before-a-status-command"),
    # Help's label "Tambahan" and "tambah" do not collide: with the ID after the flag a follow-up, without one the
    # flag still the citizen's wish.
    pytest.param(f"Tambahan ANONIM {VALID} saya saksi", FOLLOW_UP, VALID, "saya saksi", True, False, "complaint",
                 "id", id="label-flag-id"),
    pytest.param("Tambahan ANONIM jalan masih rusak", REPORT, None, "jalan masih rusak", True, False, "complaint",
                 "id", id="label-flag-no-id"),
    pytest.param(f"ADD ANONIM {VALID} I saw it too", FOLLOW_UP, VALID, "I saw it too", True, False, "complaint", "en",
                 id="english-label-flag-id"),
    # Not before a flag word: the citizen's own.
    pytest.param("tambah parah jalan rusak di depan pasar", REPORT, None, "tambah parah jalan rusak di depan pasar",
                 False, False, "complaint", "id", id="tambah-parah"),
    pytest.param("tambah anggaran desa tapi jalan tetap rusak", REPORT, None,
                 "tambah anggaran desa tapi jalan tetap rusak", False, False, "complaint", "id", id="tambah-anggaran"),
    pytest.param("Usul: tambah halte di Cawang", REPORT, None, "tambah halte di Cawang", False, False, "aspiration",
                 "id", id="kind-then-tambah-prose"),
    pytest.param("Tambah", REPORT, None, "Tambah", False, False, "complaint", "id", id="tambah-alone"),
    pytest.param("tambahanonim jalan rusak", REPORT, None, "tambahanonim jalan rusak", False, False, "complaint",
                 "id", id="one-word"),
    # Words of prose as often ("dan", "and", "dengan", "with"): with a flag only right after a kind or flag word ...
    pytest.param("ANONIM dan RAHASIA camat terima suap", REPORT, None, "camat terima suap", True, True, "complaint",
                 "id", id="flag-dan-flag"),
    pytest.param("LAPOR dengan ANONIM pungli di samsat", REPORT, None, "pungli di samsat", True, False, "complaint",
                 "id", id="kind-dengan-flag"),
    pytest.param("ANONYMOUS and CONFIDENTIAL the officer took a bribe", REPORT, None, "the officer took a bribe", True,
                 True, "complaint", "en", id="flag-and-flag-en"),
    pytest.param(f"{VALID} ANONIM dan RAHASIA saya saksi", FOLLOW_UP, VALID, "saya saksi", True, True, "complaint",
                 "id", id="follow-up-flag-dan-flag"),
    pytest.param(f"CEK ANONIM dan RAHASIA {VALID}", STATUS, VALID, "", True, True, "complaint", "id",
                 id="status-flag-dan-flag"),
    # "&" as "dan" is written between two flag words: the second one was the citizen's word ("Laporan rahasia &
    # anonim: ..." was confidential and named, "& anonim: ..." its text)
    pytest.param("Laporan rahasia & anonim: camat terima suap", REPORT, None, "camat terima suap", True, True,
                 "complaint", "id", id="flag-ampersand-flag"),
    pytest.param("ANONIM&RAHASIA camat terima suap", REPORT, None, "camat terima suap", True, True, "complaint",
                 "id", id="flag-ampersand-glued-flag"),
    pytest.param("WBS (anonim & rahasia): camat terima suap", REPORT, None, "camat terima suap",
                 True, True, "whistleblowing", "id", id="ampersand-inside-brackets"),
    # ... opening prose, the citizen's words ("dan rahasia" was taken off and the report marked confidential) ...
    pytest.param("dan rahasia itu dibongkar oleh bendahara desa", REPORT, None,
                 "dan rahasia itu dibongkar oleh bendahara desa", False, False, "complaint", "id", id="prose-dan"),
    pytest.param("Dengan rahasia jabatan camat menutupi korupsi", REPORT, None,
                 "Dengan rahasia jabatan camat menutupi korupsi", False, False, "complaint", "id", id="prose-dengan"),
    pytest.param("And secret meetings were held at the office", REPORT, None,
                 "And secret meetings were held at the office", False, False, "complaint", "en", id="prose-and"),
    pytest.param("with private contractors the road was never finished", REPORT, None,
                 "with private contractors the road was never finished", False, False, "complaint", "en",
                 id="prose-with"),
    pytest.param(f"{VALID} dan rahasia itu terbongkar", FOLLOW_UP, VALID, "dan rahasia itu terbongkar", False, False,
                 "complaint", "id", id="follow-up-prose-dan"),
    # ... but before an anonymity word anonymous all the same, the words kept: it may be what was asked
    pytest.param("Dengan anonim, saya melaporkan pungli di samsat", REPORT, None,
                 "Dengan anonim, saya melaporkan pungli di samsat", True, False, "complaint", "id",
                 id="dengan-anonim-opening-prose"),
    pytest.param("with anonymous letters the officer threatened us", REPORT, None,
                 "with anonymous letters the officer threatened us", True, False, "complaint", "en",
                 id="with-anonymous-opening-prose"),
    pytest.param("1708 dan anonim pungli di pasar", REPORT, None, "1708 dan anonim pungli di pasar", True, False,
                 "complaint", "id", id="short-code-dan-anonim"),
    # at the end, only between two flag words
    pytest.param("Preman minta uang parkir, dan anonim", REPORT, None, "Preman minta uang parkir, dan anonim", True,
                 False, "complaint", "id", id="trailing-dan-anonim"),
])
def test_a_word_introducing_a_flag_word_is_read_with_it(text: str, action: Action, tracking_id: str | None,
                                                        body: str, anonymous: bool, confidential: bool, kind: str,
                                                        language: str) -> None:
    """Help said "Tambah ANONIM agar identitas dirahasiakan", and citizens wrote "Tambah ANONIM <isi>": a named
    report of "Tambah ANONIM <isi>", the whistleblower's number sent to the agency. A word that introduces a flag
    (`[flag_openers]`) directly before a flag word is read with it, wherever flag words are read."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.anonymous, parsed.confidential, parsed.kind,
            parsed.language) == (action, tracking_id, body, anonymous, confidential, kind, language)


@pytest.mark.parametrize(("text", "body", "kind"), [
    pytest.param("ANONYM preman minta uang parkir", "preman minta uang parkir", "complaint", id="anonym"),
    pytest.param("LAPOR anonimus preman minta uang parkir", "preman minta uang parkir", "complaint", id="anonimus"),
    pytest.param("WBS Anonymus: camat terima suap", "camat terima suap", "whistleblowing", id="anonymus"),
    pytest.param("Tambah anonimous preman minta uang parkir", "preman minta uang parkir", "complaint",
                 id="tambah-anonimous"),
    pytest.param("preman minta uang parkir, anonym", "preman minta uang parkir", "complaint", id="closing-anonym"),
    pytest.param("preman minta uang parkir #anonimus", "preman minta uang parkir", "complaint", id="hashtag-anonimus"),
    pytest.param(f"{VALID} anonym saya saksi", "saya saksi", "complaint", id="follow-up-anonym"),
    # keypad slips of n and m, one key ("anomin" was read, "anomim" not): each a named report
    pytest.param("anonm kades pungli", "kades pungli", "complaint", id="anonm"),
    pytest.param("LAPOR anonm kades pungli", "kades pungli", "complaint", id="lapor-anonm"),
    pytest.param("anoim kades pungli", "kades pungli", "complaint", id="anoim"),
    pytest.param("ANANIM: kades pungli", "kades pungli", "complaint", id="ananim"),
    pytest.param("Lapor anonom kades pungli", "kades pungli", "complaint", id="anonom"),
    pytest.param("anomim kades pungli", "kades pungli", "complaint", id="anomim"),
    pytest.param("@lapor1708 anonm camat pungli", "camat pungli", "complaint", id="mention-anonm"),
    pytest.param("kades pungli, anonm", "kades pungli", "complaint", id="closing-anonm"),
    pytest.param("kades pungli #anomim", "kades pungli", "complaint", id="hashtag-anomim"),
    # the kind word glued to the flag ("-" sets them apart as a space does)
    pytest.param("LAPOR_ANONIM preman minta uang parkir", "preman minta uang parkir", "complaint", id="underscore"),
    pytest.param("lapor-anonim preman minta uang parkir", "preman minta uang parkir", "complaint", id="dash"),
    pytest.param("LAPORANONIM: preman minta uang parkir", "preman minta uang parkir", "complaint", id="one-word"),
    pytest.param("ketik LAPORANONIM preman minta uang parkir", "preman minta uang parkir", "complaint",
                 id="ketik-one-word"),
    # the other words of a complaint glued to it as well, and as a hashtag ("#PengaduanAnonim")
    pytest.param("PENGADUANANONIM preman minta uang parkir", "preman minta uang parkir", "complaint",
                 id="pengaduan-one-word"),
    pytest.param("ADUAN_ANONIM preman minta uang parkir", "preman minta uang parkir", "complaint",
                 id="aduan-underscore"),
    pytest.param("Laporan_Anonim: preman minta uang parkir", "preman minta uang parkir", "complaint",
                 id="laporan-underscore"),
    pytest.param("preman minta uang parkir #PengaduanAnonim", "preman minta uang parkir", "complaint",
                 id="hashtag-pengaduananonim"),
])
def test_the_anonymity_flag_mistyped_or_glued_to_the_kind_is_read(text: str, body: str, kind: str) -> None:
    """"ANONYM", "anonimus", "LAPOR_ANONIM", "LAPORANONIM": typed so on a keypad, each was the citizen's word and their
    number reached the agency. Read as "ANONIM" is, wherever it is read."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.kind) == (
        FOLLOW_UP if text.startswith(VALID) else REPORT, body, True, kind)


@pytest.mark.parametrize(("text", "action", "body", "anonymous", "confidential", "kind"), [
    pytest.param("LAPOR spasi ANONIM spasi preman minta uang parkir", REPORT, "preman minta uang parkir", True, False,
                 "complaint", id="spasi"),
    pytest.param("LAPOR (spasi) ANONIM (spasi) preman minta uang parkir", REPORT, "preman minta uang parkir", True,
                 False, "complaint", id="bracketed"),
    pytest.param("WBS <SPASI> RAHASIA <SPASI> camat terima suap", REPORT, "camat terima suap", False, True,
                 "whistleblowing", id="angle-brackets"),
    pytest.param("lapor (spasi) preman minta uang parkir", REPORT, "preman minta uang parkir", False, False,
                 "complaint", id="bracketed-before-the-text"),
    pytest.param(f"LAPOR spasi CEK {VALID}", Action.STATUS, "", False, False, "complaint", id="before-a-query"),
    pytest.param(f"LAPOR spasi {VALID}", Action.STATUS, "", False, False, "complaint", id="before-an-id"),
    # before a word the leading readers go on with (kept, the ANONIM after it was the citizen's word, their number
    # sent to the agency)
    pytest.param("LAPOR spasi pak ANONIM camat terima suap", REPORT, "pak ANONIM camat terima suap", True, False,
                 "complaint", id="before-a-particle"),
    pytest.param("LAPOR spasi halo, ANONIM camat terima suap", REPORT, "halo, ANONIM camat terima suap", True, False,
                 "complaint", id="before-a-greeting"),
    pytest.param("LAPOR spasi @lapor1708 ANONIM camat terima suap", REPORT, "@lapor1708 ANONIM camat terima suap",
                 True, False, "complaint", id="before-our-handle"),
    # the citizen's words keep theirs: no keyword before it, or a word of a sentence
    pytest.param("REPORT space for wheelchairs is blocked", REPORT, "space for wheelchairs is blocked", False, False,
                 "complaint", id="english-prose"),
    # a word of ours with no flag after it is the citizen's too
    pytest.param("REPORT space there is no ramp", REPORT, "space there is no ramp", False, False, "complaint",
                 id="english-prose-greeting-word"),
    pytest.param("REPORT space admin fees are illegal", REPORT, "space admin fees are illegal", False, False,
                 "complaint", id="english-prose-term-of-address"),
    pytest.param("REPORT space info board is broken", REPORT, "space info board is broken", False, False,
                 "complaint", id="english-prose-kind-word"),
    pytest.param("ANONIM space heater meledak di kantor", REPORT, "space heater meledak di kantor", True, False,
                 "complaint", id="after-a-flag"),
    pytest.param("LAPOR spasi antara bangunan terlalu sempit", REPORT, "spasi antara bangunan terlalu sempit", False,
                 False, "complaint", id="indonesian-prose"),
    pytest.param("lapor spasi preman minta uang parkir", REPORT, "spasi preman minta uang parkir", False, False,
                 "complaint", id="before-the-text-unbracketed"),
    pytest.param("spasi parkir dipakai pedagang", REPORT, "spasi parkir dipakai pedagang", False, False, "complaint",
                 id="no-keyword"),
    pytest.param("LAPOR spasikan jalur sepeda", REPORT, "spasikan jalur sepeda", False, False, "complaint",
                 id="longer-word"),
])
def test_a_space_spelled_out_between_keywords_is_read_as_one(text: str, action: Action, body: str, anonymous: bool,
                                                              confidential: bool, kind: str) -> None:
    """"ketik LAPOR spasi ANONIM spasi <isi>", as Indonesian SMS services write their formats, typed as it reads:
    the ANONIM was the citizen's word and their number went to the agency ("REG spasi LAPOR" was read as help
    already). Before the citizen's words only a bracketed one, or one after a spelled space between the keywords, is
    the format's: "REPORT space for wheelchairs is blocked" was filed as "for wheelchairs is blocked"."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential, parsed.kind) == (
        action, body, anonymous, confidential, kind)


@pytest.mark.parametrize(("text", "action", "body", "anonymous", "confidential", "kind"), [
    # before a word of the citizen's the "#" is theirs (a hashtag), the anonymity or kind word before it still read
    pytest.param("ANONIM#preman minta uang parkir", REPORT, "#preman minta uang parkir", True, False, "complaint",
                 id="anonim"),
    pytest.param("LAPOR#ANONIM#preman minta uang parkir", REPORT, "#preman minta uang parkir", True, False,
                 "complaint", id="lapor-anonim"),
    pytest.param("WBS#RAHASIA#ANONIM#camat terima suap", REPORT, "#camat terima suap", True, True, "whistleblowing",
                 id="wbs-rahasia-anonim"),
    pytest.param("ASPIRASI#jalan desa perlu diaspal", REPORT, "#jalan desa perlu diaspal", False, False,
                 "aspiration", id="aspirasi"),
    pytest.param("ANONIM# preman minta uang parkir", REPORT, "preman minta uang parkir", True, False, "complaint",
                 id="hash-then-space"),
    pytest.param("1708#WBS#camat terima suap", REPORT, "#camat terima suap", False, False, "whistleblowing",
                 id="short-code-first"),
    pytest.param(f"1708#CEK#{VALID}", Action.STATUS, "", False, False, "complaint", id="short-code-then-cek"),
    pytest.param(f"LAPOR#CEK#{VALID}", Action.STATUS, "", False, False, "complaint", id="kind-then-cek"),
    pytest.param("INFO#", REPORT, "", False, False, "information_request", id="kind-alone"),
    pytest.param("ANONIM#RAHASIA#camat terima suap", REPORT, "#camat terima suap", True, True, "complaint",
                 id="a-run-of-fields"),
    # after the other leading words as after a kind or flag word: an addition's label, a word introducing a flag
    pytest.param(f"TAMBAHAN#ANONIM#{VALID}#saya saksi", FOLLOW_UP, "#saya saksi", True, False, "complaint",
                 id="follow-up-label"),
    pytest.param("Tambah#ANONIM kades minta uang", REPORT, "kades minta uang", True, False, "complaint",
                 id="flag-opener"),
    pytest.param("(ANONIM)#SaveKPK pimpinan dilemahkan", REPORT, "#SaveKPK pimpinan dilemahkan", True, False,
                 "complaint", id="wrapped-then-hashtag"),
    # after a space a "#" opens the citizen's own hashtag, kept as typed
    pytest.param("ANONIM #jalanrusak di desa", REPORT, "#jalanrusak di desa", True, False, "complaint",
                 id="hashtag-after-space"),
    pytest.param("Jalan#rusak di desa", REPORT, "Jalan#rusak di desa", False, False, "complaint", id="prose"),
    # glued too: a hashtag of theirs keeps its "#", a confidentiality word glued to a word of theirs is theirs (as
    # "Rahasia+Negara bocor"), a keycap "#️⃣" is an emoji
    pytest.param("LAPOR#SaveKPK pimpinan dilemahkan", REPORT, "#SaveKPK pimpinan dilemahkan", False, False,
                 "complaint", id="hashtag-after-kind"),
    pytest.param("ANONIM#SaveKPK pimpinan dilemahkan", REPORT, "#SaveKPK pimpinan dilemahkan", True, False,
                 "complaint", id="hashtag-after-anonim"),
    pytest.param("Rahasia#Negara bocor", REPORT, "Rahasia#Negara bocor", False, False, "complaint",
                 id="confidentiality-word-of-theirs"),
    pytest.param("RAHASIA#ANONIM#camat terima suap", REPORT, "#camat terima suap", True, True, "complaint",
                 id="confidentiality-then-flag"),
    pytest.param("ANONIM#\ufe0f\u20e3 pungli di loket", REPORT, "#\ufe0f\u20e3 pungli di loket", True, False,
                 "complaint", id="keycap"),
    # a keycap before a word of ours or an ID is read past (kept, "LAPOR#️⃣ANONIM ..." was named)
    pytest.param("LAPOR#\ufe0f\u20e3ANONIM camat terima suap", REPORT, "camat terima suap", True, False, "complaint",
                 id="keycap-before-a-flag"),
    pytest.param(f"ANONIM#\ufe0f\u20e3{VALID}", Action.STATUS, "", True, False, "complaint", id="keycap-before-an-id"),
    # a confidentiality word glued to a word of theirs that makes no noun with it is a field ("RAHASIA#<isi>" was
    # not confidential)
    pytest.param("LAPOR RAHASIA#camat terima suap", REPORT, "#camat terima suap", False, True, "complaint",
                 id="confidentiality-field-after-a-kind"),
    pytest.param("RAHASIA#camat terima suap", REPORT, "#camat terima suap", False, True, "complaint",
                 id="confidentiality-field"),
    pytest.param("1708#SaveKPK pimpinan dilemahkan", REPORT, "1708#SaveKPK pimpinan dilemahkan", False, False,
                 "complaint", id="short-code-then-hashtag"),
])
def test_keywords_joined_by_a_hash_mark_are_read(text: str, action: Action, body: str, anonymous: bool,
                                                 confidential: bool, kind: str) -> None:
    """Indonesian SMS services have their fields typed joined by "#" ("REG#...", "LAPOR#ANONIM#<isi>"): a "#" glued
    to a leading word sets it apart as a space does before another keyword, a command or an ID. "ANONIM#<isi>" was a
    named report of the whole text, its sender's number sent to the agency, and "WBS#<isi>" a complaint. Before a
    word of the citizen's the "#" is theirs: taken as a separator, "LAPOR#SaveKPK ..." lost its hashtag,
    "Rahasia#Negara bocor" was made confidential with the text "Negara bocor", and "ANONIM#️⃣ ..." kept the keycap's
    marks without its "#"."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential, parsed.kind) == (
        action, body, anonymous, confidential, kind)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential", "kind"), [
    # several flag words in one pair of marks, opening the text ...
    pytest.param("(anonim & rahasia) camat terima suap", "camat terima suap", True, True, "complaint",
                 id="parentheses-ampersand"),
    pytest.param("[ANONIM, RAHASIA] camat terima suap", "camat terima suap", True, True, "complaint",
                 id="brackets-comma"),
    pytest.param("*ANONIM RAHASIA* camat terima suap", "camat terima suap", True, True, "complaint",
                 id="bold-space"),
    pytest.param("LAPOR (#anonim #rahasia): camat terima suap", "camat terima suap", True, True, "complaint",
                 id="kind-then-hashtags-in-parentheses"),
    pytest.param("WBS 【ANONIM/RAHASIA】 camat terima suap", "camat terima suap", True, True, "whistleblowing",
                 id="lenticular-slash"),
    # ... spaces inside the marks (its closing mark was left opening the text)
    pytest.param("( anonim & rahasia ) camat terima suap", "camat terima suap", True, True, "complaint",
                 id="parentheses-spaced"),
    pytest.param("[ ANONIM, RAHASIA ] camat terima suap", "camat terima suap", True, True, "complaint",
                 id="brackets-spaced"),
    pytest.param("WBS ( anonim rahasia ): camat terima suap", "camat terima suap", True, True, "whistleblowing",
                 id="kind-then-parentheses-spaced"),
    # ... "dan" between two of them, as read at the end and without the marks
    pytest.param("(anonim dan rahasia) camat terima suap", "camat terima suap", True, True, "complaint",
                 id="parentheses-dan"),
    pytest.param("[ANONIM AND CONFIDENTIAL] camat terima suap", "camat terima suap", True, True, "complaint",
                 id="brackets-and"),
    # ... or closing it
    pytest.param("camat terima suap (anonim & rahasia)", "camat terima suap", True, True, "complaint",
                 id="closing-parentheses-ampersand"),
    pytest.param("camat terima suap *ANONIM RAHASIA*", "camat terima suap", True, True, "complaint",
                 id="closing-bold-space"),
    pytest.param("camat terima suap. ANONIM & RAHASIA", "camat terima suap.", True, True, "complaint",
                 id="closing-ampersand"),
    # "+" between flag words, and WhatsApp's strikethrough around one
    pytest.param("ANONIM+RAHASIA camat terima suap", "camat terima suap", True, True, "complaint", id="plus"),
    pytest.param("ANONIM + RAHASIA: camat terima suap", "camat terima suap", True, True, "complaint",
                 id="plus-spaced"),
    pytest.param("camat terima suap, ANONIM+RAHASIA", "camat terima suap", True, True, "complaint",
                 id="closing-plus"),
    pytest.param("~ANONIM~ camat terima suap", "camat terima suap", True, False, "complaint", id="strikethrough"),
    pytest.param("camat terima suap ~anonim~", "camat terima suap", True, False, "complaint",
                 id="closing-strikethrough"),
    # the whistleblowing kind glued to the flag
    pytest.param("WBSANONIM camat terima suap", "camat terima suap", True, False, "complaint", id="wbs-one-word"),
    pytest.param("camat terima suap #WBS_Anonim", "camat terima suap", True, False, "complaint",
                 id="hashtag-wbs-underscore"),
    pytest.param("#anonim_rahasia camat terima suap", "camat terima suap", True, True, "complaint",
                 id="hashtag-two-flags-underscore"),
    pytest.param("camat terima suap #Anonim_Rahasia", "camat terima suap", True, True, "complaint",
                 id="closing-hashtag-two-flags-underscore"),
    # what stays the citizen's: a group holding another word, a "+" before a number, "&" after a word of theirs
    pytest.param("(rahasia umum) kades korupsi dana desa", "(rahasia umum) kades korupsi dana desa", False, False,
                 "complaint", id="group-with-a-word-of-theirs"),
    pytest.param("(anonim dan) kades korupsi", "(anonim dan) kades korupsi", False, False, "complaint",
                 id="group-ending-with-dan"),
    pytest.param("#rahasia_negara terbongkar di dinas", "#rahasia_negara terbongkar di dinas", False, False,
                 "complaint", id="hashtag-a-flag-and-a-word-of-theirs"),
    pytest.param("LAPOR +6281234567890 menipu saya", "+6281234567890 menipu saya", False, False, "complaint",
                 id="plus-before-a-number"),
    # ... a "+" glued between a flag or kind word and a word of theirs: one word of the citizen's
    pytest.param("Rahasia+Negara bocor di dinas", "Rahasia+Negara bocor di dinas", False, False, "complaint",
                 id="glued-plus-before-a-word-of-theirs"),
    pytest.param("private+public partnership proyek jalan mangkrak", "private+public partnership proyek jalan mangkrak",
                 False, False, "complaint", id="glued-plus-english"),
    pytest.param("Lapor+foto jalan rusak", "Lapor+foto jalan rusak", False, False, "complaint",
                 id="glued-plus-after-a-kind-word"),
    pytest.param("LAPOR+ANONIM jalan rusak", "jalan rusak", True, False, "complaint", id="glued-plus-kind-flag"),
    pytest.param("ANONIM+foto camat terima suap", "foto camat terima suap", True, False, "complaint",
                 id="glued-plus-after-an-anonymity-word"),
    pytest.param("jual beli jabatan & rahasia negara", "jual beli jabatan & rahasia negara", False, False,
                 "complaint", id="ampersand-in-prose"),
    pytest.param("jual beli jabatan & rahasia", "jual beli jabatan & rahasia", False, True, "complaint",
                 id="closing-ampersand-after-a-word-of-theirs"),
    pytest.param("kursus C+rahasia dibatalkan sepihak", "kursus C+rahasia dibatalkan sepihak", False, False,
                 "complaint", id="plus-inside-a-word-of-theirs"),
    pytest.param("soal ujian bocor, kunci C+rahasia", "soal ujian bocor, kunci C+rahasia", False, False,
                 "complaint", id="closing-plus-glued-to-a-word-of-theirs"),
])
def test_flag_words_grouped_joined_or_decorated_are_read(text: str, body: str, anonymous: bool, confidential: bool,
                                                         kind: str) -> None:
    """"(anonim & rahasia)", "ANONIM+RAHASIA", "~ANONIM~", "WBSANONIM": each was the citizen's words, and the
    whistleblower's number reached the agency. Read as the flag words are, wherever they are read; what is not a flag
    word keeps the text as typed."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential, parsed.kind) == (
        REPORT, body, anonymous, confidential, kind)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential", "kind"), [
    pytest.param("Rahasia negara dijual oknum dinas", "Rahasia negara dijual oknum dinas", False, True, "complaint",
                 id="state-secret"),
    pytest.param("RAHASIA dagang perusahaan dibocorkan pejabat", "RAHASIA dagang perusahaan dibocorkan pejabat", False,
                 True, "complaint", id="trade-secret"),
    pytest.param("Rahasia umum: pungli di loket 3", "Rahasia umum: pungli di loket 3", False, True, "complaint",
                 id="open-secret"),
    pytest.param("LAPOR RAHASIA negara dijual oknum", "RAHASIA negara dijual oknum", False, True, "complaint",
                 id="after-a-kind-word"),
    pytest.param("LAPOR 🙏 RAHASIA negara dijual oknum", "RAHASIA negara dijual oknum", False, True, "complaint",
                 id="after-a-kind-word-and-an-emoji"),
    pytest.param("ANONIM rahasia jabatan dibocorkan camat", "rahasia jabatan dibocorkan camat", True, True,
                 "complaint", id="after-an-anonymity-word"),
    pytest.param("rahasia  negara\tdijual", "rahasia negara\tdijual", False, True, "complaint", id="spaces"),
    pytest.param("Private sector contractors inflate the bills", "Private sector contractors inflate the bills", False,
                 True, "complaint", id="english"),
    pytest.param("Rahasia pasien disebar perawat", "Rahasia pasien disebar perawat", False, True, "complaint",
                 id="patients-secrets"),
    pytest.param("Rahasia soal ujian bocor", "Rahasia soal ujian bocor", False, True, "complaint", id="exam-secrets"),
    pytest.param("Private security guards beat residents", "Private security guards beat residents", False, True,
                 "complaint", id="private-security"),
    # as a hashtag, opening the text or inside it
    pytest.param("#RAHASIA negara dijual oknum", "#RAHASIA negara dijual oknum", False, True, "complaint",
                 id="hashtag-opening"),
    pytest.param("LAPOR #rahasia negara dijual oknum", "#rahasia negara dijual oknum", False, True, "complaint",
                 id="hashtag-after-a-kind-word"),
    pytest.param("Ada #rahasia negara yang dijual oknum", "Ada #rahasia negara yang dijual oknum", False, True,
                 "complaint", id="hashtag-inside"),
    # a flag still: set apart by more than spaces, wrapped, introduced, or before any other word
    pytest.param("RAHASIA: negara dijual oknum", "negara dijual oknum", False, True, "complaint", id="colon"),
    pytest.param("RAHASIA, negara dijual oknum", "negara dijual oknum", False, True, "complaint", id="comma"),
    pytest.param("(rahasia) negara dijual oknum", "negara dijual oknum", False, True, "complaint", id="wrapped"),
    pytest.param("RAHASIA pungli di loket 3", "pungli di loket 3", False, True, "complaint", id="another-word"),
    pytest.param("RAHASIA ANONIM negara dijual", "negara dijual", True, True, "complaint", id="two-flags-first"),
    pytest.param("ANONIM negara dijual oknum", "negara dijual oknum", True, False, "complaint",
                 id="anonymity-word-before-it"),
    pytest.param("#rahasia pungli di loket 3", "pungli di loket 3", False, True, "complaint", id="hashtag"),
    pytest.param("Pungli di loket 3 #rahasia setiap hari", "Pungli di loket 3 setiap hari", False, True, "complaint",
                 id="hashtag-inside-before-another-word"),
    pytest.param("#rahasia #negara dijual", "#negara dijual", False, True, "complaint", id="hashtag-before-a-tag"),
    pytest.param("#rahasia+anonim negara dijual", "negara dijual", True, True, "complaint", id="joined-hashtag"),
])
def test_a_confidentiality_word_opening_a_noun_of_the_citizens_stays_in_the_text(
        text: str, body: str, anonymous: bool, confidential: bool, kind: str) -> None:
    """"Rahasia negara dijual oknum": taken off as a flag word, the report read "negara dijual oknum" (the state
    sold by an official). The report is still confidential (the safe error); the word stays (`[flag_compounds]`)."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential, parsed.kind) == (
        REPORT, body, anonymous, confidential, kind)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential", "kind"), [
    pytest.param("Rahasia ya. Kepala desa korupsi dana desa", "Kepala desa korupsi dana desa", False, True,
                 "complaint", id="ya-stop"),
    pytest.param("ANONIM ya pak! kades minta uang", "kades minta uang", True, False, "complaint", id="ya-pak-bang"),
    pytest.param("LAPOR ANONIM ya min, kades minta uang", "kades minta uang", True, False, "complaint",
                 id="after-a-kind-word"),
    pytest.param("Anonim aja 🙏 kades minta uang", "kades minta uang", True, False, "complaint", id="emoji"),
    pytest.param("LAPOR pak, jalan berlubang di Jl. Pemuda", "jalan berlubang di Jl. Pemuda", False, False,
                 "complaint", id="a-kind-word"),
    pytest.param("ANONIM aja. CEK {id}", "", True, False, "complaint", id="a-query-after-them"),
    # flag words after them, as after the leading words
    pytest.param("LAPOR pak, ANONIM kades minta uang", "kades minta uang", True, False, "complaint",
                 id="a-flag-after-them"),
    pytest.param("LAPOR pak, anonim ya. RAHASIA kades minta uang", "kades minta uang", True, True, "complaint",
                 id="flags-and-particles-after-them"),
    pytest.param("LAPOR pak, Rahasia negara dijual oknum", "Rahasia negara dijual oknum", False, True, "complaint",
                 id="a-compound-after-them"),
    # a "#" glued to a particle before a keyword sets it apart as punctuation does; before a word of theirs it stays
    pytest.param("LAPOR min#ANONIM#kades minta uang", "#kades minta uang", True, False, "complaint",
                 id="hash-after-min"),
    pytest.param("Lapor pak#anonim kepala desa minta uang", "kepala desa minta uang", True, False, "complaint",
                 id="hash-after-pak"),
    pytest.param("Lapor pak#(anonim) kepala desa minta uang", "kepala desa minta uang", True, False, "complaint",
                 id="hash-after-pak-bracketed"),
    pytest.param("LAPOR ya#anonim kades minta uang", "kades minta uang", True, False, "complaint", id="hash-after-ya"),
    pytest.param("LAPOR pak#SaveKPK pimpinan dilemahkan", "pak#SaveKPK pimpinan dilemahkan", False, False,
                 "complaint", id="hash-after-pak-before-a-hashtag"),
    pytest.param("ANONIM ya#{id} saya saksi", "saya saksi", True, False, "complaint", id="hash-before-an-id"),
    # the text's own: no punctuation after them, a compound; nothing after them, a report of no words (help)
    pytest.param("Anonim ya pak kepala desa korupsi", "ya pak kepala desa korupsi", True, False, "complaint",
                 id="no-punctuation"),
    pytest.param("ANONIM ya pak.", "", True, False, "complaint", id="nothing-after-them"),
    pytest.param("Rahasia negara ya, dijual oknum", "Rahasia negara ya, dijual oknum", False, True, "complaint",
                 id="a-compound"),
])
def test_particles_said_with_the_leading_flag_words_are_not_the_reports(
        text: str, body: str, anonymous: bool, confidential: bool, kind: str) -> None:
    """"Rahasia ya. Kepala desa ...": the flag word taken, the case opened "ya." (`[flag_particles]`). A flag word
    after them is read too ("LAPOR pak, ANONIM ...": it was the text's first word, and the number reached the agency),
    and a "#" glued to one before a keyword or an ID sets them apart ("LAPOR pak#anonim ...": the particle's reading
    stopped there, the anonim after it was the text's and the report named)."""
    parsed = parse_text(text.format(id=format_tracking_id(10_000_004)), shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential, parsed.kind) == (body, anonymous, confidential, kind)
    assert parsed.action is (Action.STATUS if "CEK" in text else FOLLOW_UP if "{id}" in text else REPORT)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential", "kind"), [
    pytest.param("[ANONIM, RAHASIA pungli di kelurahan", "pungli di kelurahan", True, True, "complaint",
                 id="brackets-comma"),
    pytest.param("(anonim & rahasia pungli di kelurahan", "pungli di kelurahan", True, True, "complaint",
                 id="parentheses-ampersand"),
    pytest.param("(anonim dan rahasia pungli di kelurahan", "pungli di kelurahan", True, True, "complaint",
                 id="parentheses-dan"),
    pytest.param("（ANONIM & RAHASIA pungli di kelurahan", "pungli di kelurahan", True, True, "complaint",
                 id="fullwidth-parenthesis"),
    pytest.param("((anonim, rahasia pungli di kelurahan", "pungli di kelurahan", True, True, "complaint",
                 id="doubled-parenthesis"),
    pytest.param("WBS [anonim & rahasia pungli di kelurahan", "pungli di kelurahan", True, True, "whistleblowing",
                 id="after-a-kind-word"),
    pytest.param("(anonim pungli di kelurahan", "pungli di kelurahan", True, False, "complaint",
                 id="one-anonymity-word"),
    # closed by no bracket of its own: a later pair opens and closes on its own
    pytest.param("[ANONIM, RAHASIA pungli di kelurahan [Rp 50rb]", "pungli di kelurahan [Rp 50rb]", True, True,
                 "complaint", id="a-later-pair"),
    # what stays the citizen's: a confidentiality word alone may open an aside of theirs, a closed group of prose
    pytest.param("(rahasia umum kades korupsi dana desa", "(rahasia umum kades korupsi dana desa", False, False,
                 "complaint", id="one-confidentiality-word"),
    pytest.param("(anonim & rahasia pungli di kelurahan) kades minta uang",
                 "(anonim & rahasia pungli di kelurahan) kades minta uang", False, False, "complaint",
                 id="closed-later"),
])
def test_flag_words_in_a_group_left_open_are_read(text: str, body: str, anonymous: bool, confidential: bool,
                                                  kind: str) -> None:
    """"[ANONIM, RAHASIA pungli di ...", "(anonim & rahasia pungli ...": a group opened and never closed was the
    citizen's words, and the whistleblower's number reached the agency."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential, parsed.kind) == (
        REPORT, body, anonymous, confidential, kind)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    pytest.param("(ANONIM, RAHASIA pungli di kelurahan :)", "pungli di kelurahan :)", True, True, id="smiley"),
    pytest.param("(anonim pungli di kelurahan, tolong ditindak ya min ;-)",
                 "pungli di kelurahan, tolong ditindak ya min ;-)", True, False, id="winking-smiley"),
    pytest.param("(ANONIM & RAHASIA pungli di kelurahan: 1) minta uang 2) dipersulit",
                 "pungli di kelurahan: 1) minta uang 2) dipersulit", True, True, id="numbered-list"),
    pytest.param("(anonim pungli di kelurahan. 1) minta uang 50rb 2) KTP ditahan 3) diancam",
                 "pungli di kelurahan. 1) minta uang 50rb 2) KTP ditahan 3) diancam", True, False,
                 id="numbered-list-anonymity-word"),
    # a bracket that closes it after words stays the citizen's aside, as it was
    pytest.param("(anonim & rahasia pungli di kelurahan) kades minta uang :)",
                 "(anonim & rahasia pungli di kelurahan) kades minta uang :)", False, False, id="closed-by-words"),
])
def test_a_smiley_or_a_list_number_does_not_close_a_group_left_open(text: str, body: str, anonymous: bool,
                                                                   confidential: bool) -> None:
    """"(ANONIM, RAHASIA pungli di kelurahan :)", "[ANONIM & RAHASIA pungli ...: 1) minta uang 2) ...": the smiley's
    or the list's ")" was counted as closing the group, its flag words stayed the citizen's and the whistleblower's
    number reached the agency."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential) == (REPORT, body, anonymous,
                                                                                    confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    # a confidentiality word negated, plain or struck through, closing the text: "no secret"
    pytest.param("camat terima suap, bukan ~rahasia~", False, False, id="closing-negated-struck-through"),
    pytest.param("bukan ~rahasia~", False, False, id="negated-struck-through-alone"),
    pytest.param("camat terima suap, ini bukan rahasia", False, False, id="closing-negated"),
    pytest.param("camat terima suap. Bukan ~~rahasia~~.", False, False, id="closing-negated-markdown-strike"),
    pytest.param("camat terima suap (bukan rahasia)", False, False, id="closing-negated-in-parentheses"),
    pytest.param("camat terima suap, tidak rahasia ya pak", False, False, id="closing-negated-before-thanks"),
    pytest.param("the mayor takes bribes, not secret", False, False, id="closing-negated-english"),
    pytest.param("camat terima suap, non-rahasia", False, False, id="closing-negated-by-a-prefix"),
    pytest.param(f"{VALID} camat terima suap lagi, bukan rahasia", False, False, id="follow-up-closing-negated"),
    # ... or as a hashtag
    pytest.param("bukan #rahasia lagi, camat terima suap", False, False, id="negated-hashtag"),
    # opening the text, negated, it was the citizen's already: as it was
    pytest.param("ini bukan rahasia lagi, camat terima suap", False, False, id="opening-negated"),
    pytest.param("bukan ~rahasia~ lagi, camat terima suap", False, False, id="opening-negated-struck-through"),
    # an anonymity word negated or struck through: in doubt a wish, as everywhere ("takut kalau tidak anonim")
    pytest.param("camat terima suap, saya takut kalau tidak anonim", True, False, id="anonymity-negated"),
    pytest.param("camat terima suap, bukan ~anonim~", True, False, id="anonymity-negated-struck-through"),
    pytest.param("bukan #anonim lagi, camat terima suap", True, False, id="anonymity-negated-hashtag"),
])
def test_a_negated_flag_word_is_the_citizens_prose(text: str, anonymous: bool, confidential: bool) -> None:
    """"..., bukan ~rahasia~", "..., ini bukan rahasia" ("no secret") were read as a confidentiality request, and a
    flag word struck through set apart was taken off the text ("..., bukan"). Their words stay as typed."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    body = text.removeprefix(f"{VALID} ").removeprefix("LAPOR ")
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "body"), [
    pytest.param("camat terima suap ~rahasia~", "camat terima suap", id="closing"),
    pytest.param("camat terima suap, ~~rahasia~~", "camat terima suap", id="closing-markdown-strike"),
    pytest.param("~RAHASIA~ camat terima suap", "camat terima suap", id="opening"),
    pytest.param("LAPOR ~rahasia~ camat terima suap", "camat terima suap", id="after-the-kind-word"),
])
def test_a_confidentiality_word_struck_through_without_a_negation_still_asks(text: str, body: str) -> None:
    """Struck through alone, "~rahasia~" is typed as decoration as "~ANONIM~" is, or means "no secret": in doubt a
    wish, as for anonymity (a report kept from the public once too often is the safe error; one a whistleblower asked
    kept secret, published, is not). Only a negation ("bukan ~rahasia~") makes it the citizen's prose."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, False, True)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    pytest.param("pungli di ~kelurahan~ ~ANONIM~", "pungli di ~kelurahan~", True, False, id="strikethrough"),
    pytest.param("pungli di *kelurahan* *ANONIM*", "pungli di *kelurahan*", True, False, id="bold"),
    pytest.param("pungli di *kelurahan*, ANONIM", "pungli di *kelurahan*", True, False, id="bold-then-comma"),
    pytest.param("pungli **besar** **RAHASIA**", "pungli **besar**", False, True, id="markdown-bold"),
    pytest.param("pungli di kelurahan, ~~ANONIM~~", "pungli di kelurahan", True, False, id="only-the-flags-marks"),
])
def test_a_closing_flags_marks_go_with_it_and_the_citizens_own_stay(text: str, body: str, anonymous: bool,
                                                                    confidential: bool) -> None:
    """The marks before a closing flag word were read back past whole, the citizen's own among them: "pungli di
    ~kelurahan~ ~ANONIM~" reached the case store as "pungli di ~kelurahan", its word's closing mark lost."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    # a negation asked as a question ("bisa gak rahasia?": "can it be secret?") or feared ("takut kalau tidak
    # rahasia", "jangan sampai tidak rahasia"): a request, in doubt a wish, as "takut kalau tidak anonim" is
    pytest.param("pungli di kelurahan. Min, bisa gak RAHASIA", "pungli di kelurahan. Min, bisa gak RAHASIA", False,
                 True, id="question-bisa-gak"),
    pytest.param("pungli di kelurahan, bisa tidak #rahasia?", "pungli di kelurahan, bisa tidak?", False, True,
                 id="question-hashtag"),
    pytest.param("pungli di kelurahan, boleh ga rahasia", "pungli di kelurahan, boleh ga rahasia", False, True,
                 id="question-boleh-ga"),
    pytest.param("pungli di kelurahan, saya takut kalau tidak rahasia", "pungli di kelurahan, saya takut kalau tidak "
                 "rahasia", False, True, id="fear-kalau-tidak"),
    pytest.param("pungli di kelurahan, jangan sampai tidak rahasia", "pungli di kelurahan, jangan sampai tidak "
                 "rahasia", False, True, id="jangan-sampai-tidak"),
    # ... while a plain negation stays the citizen's "no secret"
    pytest.param("pungli di kelurahan, ini tidak rahasia", "pungli di kelurahan, ini tidak rahasia", False, False,
                 id="plain-negation"),
    pytest.param("pungli di kelurahan, sudah bukan #rahasia", "pungli di kelurahan, sudah bukan #rahasia", False,
                 False, id="plain-negation-hashtag"),
])
def test_a_negation_asked_as_a_question_or_feared_still_asks_for_the_flag(text: str, body: str, anonymous: bool,
                                                                         confidential: bool) -> None:
    """"Min, bisa gak RAHASIA" ("can it be kept secret?"), "saya takut kalau tidak rahasia": read as "no secret",
    the report a whistleblower asked kept secret went out as an open one."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("pungli di kelurahan. ANONIM, bukan rahasia", True, False, id="comma"),
    pytest.param("pungli di kelurahan ANONIM bukan RAHASIA", True, False, id="spaces"),
    pytest.param("pungli di kelurahan, anonim tapi tidak rahasia", False, False, id="a-word-between"),
    pytest.param("pungli di kelurahan, ANONIM bukan ~rahasia~", True, False, id="struck-through"),
    pytest.param("pungli di kelurahan, anonim, non-rahasia", True, False, id="hyphen"),
    pytest.param(f"{VALID} pungli masih ada. ANONIM, bukan rahasia", True, False, id="follow-up"),
    # a confidentiality word before it: no anonymity asked
    pytest.param("pungli di kelurahan, rahasia bukan rahasia", False, False, id="confidentiality-word-before"),
])
def test_an_anonymity_word_before_a_negated_confidentiality_word_is_read(text: str, anonymous: bool,
                                                                          confidential: bool) -> None:
    """"..., ANONIM, bukan rahasia" ("anonymous, not confidential"): the negated word stopped the reading from the
    end, the anonymity word before it was never read and the whistleblower's number reached the agency. The words
    stay as typed."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    body = text.removeprefix(f"{VALID} ")
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("pungli di kelurahan, rahasia, bukan untuk umum", False, True, id="not-for-the-public"),
    pytest.param("pungli di kelurahan. RAHASIA bukan fitnah", False, True, id="no-slander"),
    pytest.param("pungli di kelurahan. ANONIM & RAHASIA, bukan hoaks!", True, True, id="both-no-hoax"),
    pytest.param("pungli di kelurahan (rahasia, tidak untuk publik). Terima kasih", False, True,
                 id="then-thanks"),
    pytest.param("the village head takes bribes, confidential, not for public", False, True, id="english"),
    pytest.param(f"{VALID} pungli masih ada, RAHASIA, bukan untuk umum", False, True, id="follow-up"),
    # a negated flag word before it, or none: as it was
    pytest.param("pungli di kelurahan, bukan rahasia, bukan fitnah", False, False, id="negated-before-it"),
    pytest.param("pungli di kelurahan, bukan untuk umum", False, False, id="no-flag-word"),
])
def test_flag_words_before_a_clarification_closing_the_text_are_read(text: str, anonymous: bool,
                                                                     confidential: bool) -> None:
    """"..., rahasia, bukan untuk umum" ("confidential, not for the public"), "... RAHASIA bukan fitnah": the flag
    words stood before the text's last words, were never read, and the report a whistleblower asked kept secret went
    out as an open one. The words stay as typed."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    body = text.removeprefix(f"{VALID} ")
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("pungli di kelurahan. ANONIM saya takut", True, False, id="fear"),
    pytest.param("pungli di kelurahan, anonim karena saya takut dipecat", True, False, id="because-of-fear"),
    # the reporter's fear of threats asks anonymity as well, flag word or none (`[flags_in_words]` anonymous)
    pytest.param("kades minta uang. RAHASIA, saya takut diancam", True, True, id="threatened"),
    pytest.param("kades minta uang, anonim & rahasia krn takut, terima kasih", True, True, id="then-thanks"),
    # no fear in the words after it, or no flag word before someone else's: as it was
    pytest.param("pungli di kelurahan, anonim saya mau lapor", False, False, id="no-fear"),
    pytest.param("kades minta uang, warga takut", False, False, id="no-flag-word"),
])
def test_flag_words_before_a_plea_closing_the_text_are_read(text: str, anonymous: bool, confidential: bool) -> None:
    """"... ANONIM saya takut", "..., anonim karena saya takut dipecat": the flag words stood before the text's last
    words, were never read, and the whistleblower who said they were afraid went named. The words stay as typed."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (text, anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    # the marks around both flag words alike, one of them an anonymity word: decoration ("~ANONIM RAHASIA~" is)
    pytest.param("pungli di kelurahan ~ANONIM~ ~RAHASIA~", "pungli di kelurahan", True, True, id="closing"),
    pytest.param("pungli di kelurahan ~RAHASIA~ ~ANONIM~", "pungli di kelurahan", True, True,
                 id="closing-confidentiality-first"),
    pytest.param("~rahasia~ ~anonim~ pungli di kelurahan", "pungli di kelurahan", True, True, id="opening"),
    pytest.param("~ANONIM~ ~RAHASIA~ pungli di kelurahan", "pungli di kelurahan", True, True,
                 id="opening-anonymity-first"),
    pytest.param("~~RAHASIA~~ ~~ANONIM~~ pungli di kelurahan", "pungli di kelurahan", True, True,
                 id="opening-markdown"),
    # a confidentiality word struck through alone, or beside a word of theirs struck through: in doubt a wish
    pytest.param("pungli di kelurahan ~RAHASIA~", "pungli di kelurahan", False, True, id="alone"),
    pytest.param("pungli di ~kelurahan~ ~RAHASIA~", "pungli di ~kelurahan~", False, True,
                 id="beside-a-word-of-theirs"),
])
def test_flag_words_struck_through_alike_with_an_anonymity_word_are_all_read(text: str, body: str, anonymous: bool,
                                                                             confidential: bool) -> None:
    """"~ANONIM~ ~RAHASIA~": the struck-through confidentiality word stopped the reading, the anonymity word beside it
    was never read and the whistleblower's number reached the agency ("~RAHASIA~ ~ANONIM~" also lost a mark)."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    # what a negation does not reach: a word between ("bukan, RAHASIA") or glued to it ("xbukan rahasia")
    pytest.param("camat terima suap bukan, RAHASIA", "camat terima suap bukan", False, True, id="comma-between"),
    pytest.param("camat terima suap, ~anonim~", "camat terima suap", True, False, id="anonymity-struck-through"),
    pytest.param("camat terima suap, anonim bukan", "camat terima suap, anonim bukan", False, False,
                 id="negation-after-it"),
])
def test_a_flag_word_a_negation_does_not_reach_is_read_as_before(text: str, body: str, anonymous: bool,
                                                                 confidential: bool) -> None:
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    pytest.param("#anonim+rahasia camat terima suap", "camat terima suap", True, True, id="opening"),
    pytest.param("camat terima suap #anonim+rahasia", "camat terima suap", True, True, id="closing"),
    pytest.param("camat #Anonim+Rahasia terima suap", "camat terima suap", True, True, id="inside"),
    pytest.param("camat terima suap #anonim+#rahasia", "camat terima suap", True, True, id="second-hash"),
    pytest.param("camat terima suap #rahasia+anonim_rahasia", "camat terima suap", True, True,
                 id="plus-and-underscore"),
    pytest.param(f"{VALID} camat terima suap #anonim+rahasia", "camat terima suap", True, True, id="follow-up"),
    # joined to a word of theirs: the flag word's tag, the rest as typed (as before)
    pytest.param("camat terima suap #anonim+foto", "camat terima suap +foto", True, False, id="a-word-of-theirs"),
    pytest.param("camat terima suap #anonim+rahasia2", "camat terima suap +rahasia2", True, False,
                 id="glued-to-a-number"),
    pytest.param("camat terima suap #anonim+rahasia+foto", "camat terima suap +foto", True, True,
                 id="flag-words-then-a-word-of-theirs"),
])
def test_flag_words_joined_by_plus_in_a_hashtag_are_one_tag(text: str, body: str, anonymous: bool,
                                                           confidential: bool) -> None:
    """"#anonim+rahasia" was read as "#anonim": "+rahasia" stayed in the text and the report was not confidential."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    pytest.param("LAPOR pungli kantor camat #anonim.", "pungli kantor camat.", True, False, id="before-a-stop"),
    pytest.param("pungli #anonim, kantor camat", "pungli, kantor camat", True, False, id="before-a-comma"),
    pytest.param("pungli (kantor camat #rahasia)", "pungli (kantor camat)", False, True, id="before-a-bracket"),
    pytest.param("pungli #anonim+rahasia! tolong", "pungli! tolong", True, True, id="joined-before-a-bang"),
    # a tag that stays, or stays in part, keeps its space; so does a word after it
    pytest.param("pungli #anonim+foto.", "pungli +foto.", True, False, id="part-kept"),
    pytest.param("ada pungli, bukan #rahasia.", "ada pungli, bukan #rahasia.", False, False, id="negated-kept"),
    pytest.param("pungli #anonim kantor camat", "pungli kantor camat", True, False, id="before-a-word"),
])
def test_the_spaces_before_a_flag_hashtag_taken_out_go_with_it_before_punctuation(
        text: str, body: str, anonymous: bool, confidential: bool) -> None:
    """"LAPOR pungli kantor camat #anonim." was filed as "pungli kantor camat .": the tag went, its space stayed."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize("text", [
    "anonymity of the reporter was broken by the officer", "anonimitas pelapor dibocorkan petugas",
    "laporanonimnya hilang", "lapor_anonimitas", "dokumen anonymized dibagikan",
])
def test_words_that_only_begin_like_the_anonymity_flag_stay_the_citizens(text: str) -> None:
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.text, parsed.anonymous) == (REPORT, text, False)


@pytest.mark.parametrize(("text", "action", "tracking_id", "body", "anonymous"), [
    # Help shows "<nomor lacak>", and some type the brackets: as the ID typed without them.
    pytest.param(f"<{VALID}> jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False, id="angle-brackets"),
    pytest.param(f"Tambahan: <{VALID}> jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False,
                 id="label-angle-brackets"),
    pytest.param(f"Tambahan untuk laporan <{VALID}>: jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak",
                 False, id="label-fillers-angle-brackets"),
    pytest.param(f"({VALID}) jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False, id="parentheses"),
    pytest.param(f"*{VALID}* jalan masih rusak", FOLLOW_UP, VALID, "jalan masih rusak", False, id="bold"),
    pytest.param(f"ANONIM <{VALID}> saya saksi", FOLLOW_UP, VALID, "saya saksi", True, id="flag-angle-brackets"),
    pytest.param(f"Tambah ANONIM <{VALID}> saya saksi", FOLLOW_UP, VALID, "saya saksi", True,
                 id="tambah-flag-angle-brackets"),
    pytest.param(f"<{VALID}>", STATUS, VALID, "", False, id="alone"),
    pytest.param(f"Tambahan: <{VALID}>", STATUS, VALID, "", False, id="label-alone"),
    # A mistyped ID: answered as one, as without the brackets.
    pytest.param(f"<{BAD}> jalan masih rusak", Action.BAD_TRACKING_ID, BAD, f"<{BAD}> jalan masih rusak", False,
                 id="mistyped"),
    pytest.param(f"ANONIM <{BAD}>", Action.BAD_TRACKING_ID, BAD, f"<{BAD}>", True, id="flag-mistyped-alone"),
    pytest.param(f"ANONIM <{BAD}> petugas minta uang", REPORT, None, f"<{BAD}> petugas minta uang", True,
                 id="flag-mistyped-and-words"),
    # The same guards as without brackets: an amount, a phone number, a date stay the citizen's.
    pytest.param("(500000) diminta petugas", REPORT, None, "(500000) diminta petugas", False, id="amount"),
    pytest.param("(081234567890) nomor saya, jalan rusak", REPORT, None, "(081234567890) nomor saya, jalan rusak",
                 False, id="phone-number"),
    pytest.param("<17-08-2025> ada pungli", REPORT, None, "<17-08-2025> ada pungli", False, id="date"),
    pytest.param(f"Tambahan <biaya> {AMOUNT} diminta", REPORT, None, f"Tambahan <biaya> {AMOUNT} diminta", False,
                 id="label-then-a-bracketed-word"),
])
def test_a_tracking_id_in_brackets_as_help_shows_it_is_read_as_the_id(text: str, action: Action,
                                                                      tracking_id: str | None, body: str,
                                                                      anonymous: bool) -> None:
    """Help shows "Tambahan: <nomor lacak> <isi>", and "<12345678> jalan masih rusak" was a new report under the
    sender's number (only CEK read brackets): the addition never reached its report."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.anonymous) == (action, tracking_id, body, anonymous)


@pytest.mark.parametrize(("text", "action", "tracking_id", "body", "anonymous", "kind"), [
    pytest.param(f"🙏 CEK {VALID}", Action.STATUS, VALID, "", False, "complaint", id="status"),
    pytest.param(f"🙏🏽 cek {VALID}", Action.STATUS, VALID, "", False, "complaint", id="status-skin-tone"),
    pytest.param("🙏🙏 ANONIM Kepala desa korupsi dana desa", Action.REPORT, None, "Kepala desa korupsi dana desa",
                 True, "complaint", id="flag"),
    pytest.param("🙏ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", True, "complaint",
                 id="flag-glued"),
    pytest.param("❤️ ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", True, "complaint",
                 id="flag-after-a-variation-selector"),
    pytest.param("🇮🇩 ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", True, "complaint",
                 id="flag-after-a-flag-emoji"),
    pytest.param("👍🏻👍🏻 WBS camat terima suap", Action.REPORT, None, "camat terima suap", False, "whistleblowing",
                 id="kind"),
    pytest.param(f"👉 {VALID} tambahan foto", Action.FOLLOW_UP, VALID, "tambahan foto", False, "complaint",
                 id="follow-up"),
    pytest.param("🙏 Bantuan", Action.HELP, None, "", False, "complaint", id="help"),
    # Without a keyword after them, emoji are the citizen's words, kept; alone, or with thanks, nothing changes.
    pytest.param("😡 jalan rusak", Action.REPORT, None, "😡 jalan rusak", False, "complaint", id="prose-kept"),
    pytest.param("😡 2 hari listrik padam", Action.REPORT, None, "😡 2 hari listrik padam", False, "complaint",
                 id="prose-number-kept"),
    pytest.param("😡", Action.REPORT, None, "😡", False, "complaint", id="emoji-alone"),
    pytest.param("🙏 terima kasih", Action.COURTESY, None, "🙏 terima kasih", False, "complaint", id="courtesy"),
    # After our short code or handle, and between the leading keywords, as at the start.
    pytest.param("1708 🙏 ANONIM jalan rusak", Action.REPORT, None, "jalan rusak", True, "complaint",
                 id="short-code-then-flag"),
    pytest.param("1708 🙏 ANONIM", Action.REPORT, None, "", True, "complaint", id="short-code-then-flag-alone"),
    pytest.param("1708 🙏ANONIM pungli", Action.REPORT, None, "pungli", True, "complaint",
                 id="short-code-then-flag-glued"),
    # Glued to our short code or handle and to the keyword, no space at all, as after one.
    pytest.param("1708🙏ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", True, "complaint",
                 id="short-code-glued-emoji-glued-flag"),
    pytest.param("1708🙏🏽🙏🏽ANONIM", Action.REPORT, None, "", True, "complaint",
                 id="short-code-glued-emoji-flag-alone"),
    pytest.param("@lapor1708❤️ANONIM pungli", Action.REPORT, None, "pungli", True, "complaint",
                 id="handle-glued-emoji-glued-flag"),
    pytest.param("lapor1708🇮🇩WBS camat terima suap", Action.REPORT, None, "camat terima suap", False,
                 "whistleblowing", id="handle-glued-flag-emoji-glued-kind"),
    pytest.param(f"1708🙏CEK {VALID}", Action.STATUS, VALID, "", False, "complaint", id="short-code-glued-status"),
    pytest.param(f"1708🙏{VALID} tambahan foto", Action.FOLLOW_UP, VALID, "tambahan foto", False, "complaint",
                 id="short-code-glued-follow-up"),
    pytest.param("🙏1708🙏ANONIM pungli", Action.REPORT, None, "pungli", True, "complaint",
                 id="around-the-short-code-glued"),
    pytest.param("LAPOR🙏ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", True, "complaint",
                 id="between-kind-and-flag-glued"),
    pytest.param("WBS🙏1708🙏ANONIM camat terima suap", Action.REPORT, None, "camat terima suap", True,
                 "whistleblowing", id="between-kind-short-code-and-flag-glued"),
    pytest.param("@lapor1708 ❤️ [ANONIM] pungli", Action.REPORT, None, "pungli", True, "complaint",
                 id="handle-then-tagged-flag"),
    pytest.param("🙏 1708 🙏 ANONIM pungli", Action.REPORT, None, "pungli", True, "complaint",
                 id="around-the-short-code"),
    pytest.param("1708 👍🏽 WBS camat terima suap", Action.REPORT, None, "camat terima suap", False, "whistleblowing",
                 id="short-code-then-kind"),
    pytest.param(f"1708 🙏 CEK {VALID}", Action.STATUS, VALID, "", False, "complaint", id="short-code-then-status"),
    # Between a status word and the ID, glued or not, with fillers or our short code among them.
    pytest.param(f"CEK 🙏 {VALID}", Action.STATUS, VALID, "", False, "complaint", id="status-word-then-emoji"),
    pytest.param(f"CEK🙏{VALID}", Action.STATUS, VALID, "", False, "complaint", id="status-word-glued-emoji"),
    pytest.param(f"TRACK 🙏🏽 {VALID}", Action.STATUS, VALID, "", False, "complaint", id="english-status-then-emoji"),
    pytest.param(f"lacak👉{VALID} foto", Action.STATUS, VALID, "foto", False, "complaint",
                 id="status-word-glued-emoji-words-after"),
    pytest.param(f"status 🙏 laporan ❤️ no. {VALID}", Action.STATUS, VALID, "", False, "complaint",
                 id="status-word-emoji-among-fillers"),
    pytest.param(f"CEK 🙏 1708 🙏 {VALID}", Action.STATUS, VALID, "", False, "complaint",
                 id="status-word-emoji-around-short-code"),
    pytest.param("CEK 🙏 12345", Action.BAD_TRACKING_ID, "12345", "", False, "complaint",
                 id="status-word-emoji-short-number"),
    pytest.param("CEK 😡 jalan rusak", Action.REPORT, None, "CEK 😡 jalan rusak", False, "complaint",
                 id="status-word-emoji-prose-kept"),
    pytest.param("LAPOR 🙏 ANONIM pungli di pasar", Action.REPORT, None, "pungli di pasar", True, "complaint",
                 id="between-kind-and-flag"),
    pytest.param("WBS 🙏 1708 🙏 ANONIM camat terima suap", Action.REPORT, None, "camat terima suap", True,
                 "whistleblowing", id="between-kind-short-code-and-flag"),
    pytest.param("1708 " + "🙏 1708 " * 500 + "ANONIM pungli", Action.REPORT, None, "pungli", True, "complaint",
                 id="short-code-and-emoji-repeated"),
    # Without a keyword after them they stay the citizen's there too; alone or with thanks, nothing changes.
    pytest.param("1708 😡 jalan rusak", Action.REPORT, None, "1708 😡 jalan rusak", False, "complaint",
                 id="short-code-then-prose-kept"),
    pytest.param("1708😡jalan rusak", Action.REPORT, None, "1708😡jalan rusak", False, "complaint",
                 id="short-code-glued-prose-kept"),
    # A number or word that only opens with our short code is the citizen's, an emoji and a keyword after it too.
    pytest.param("17080 jalan rusak", Action.REPORT, None, "17080 jalan rusak", False, "complaint",
                 id="longer-number-kept"),
    pytest.param("1708an jalan rusak", Action.REPORT, None, "1708an jalan rusak", False, "complaint",
                 id="short-code-in-a-word-kept"),
    # (The flag word after the number is read as after any number opening the text: "15.000.000🙏ANONIM ...".)
    pytest.param("17080🙏ANONIM pungli", Action.REPORT, None, "17080🙏ANONIM pungli", True, "complaint",
                 id="longer-number-glued-emoji-kept"),
    pytest.param("1708an🙏ANONIM pungli", Action.REPORT, None, "1708an🙏ANONIM pungli", False, "complaint",
                 id="short-code-in-a-word-glued-emoji-kept"),
    pytest.param("LAPOR 😡 jalan rusak", Action.REPORT, None, "😡 jalan rusak", False, "complaint",
                 id="kind-then-prose-kept"),
    pytest.param("ANONIM 🙏 pungli", Action.REPORT, None, "🙏 pungli", True, "complaint", id="flag-then-prose-kept"),
    pytest.param("1708 🙏", Action.COURTESY, None, "1708 🙏", False, "complaint", id="short-code-then-emoji"),
    pytest.param("1708 🙏 terima kasih", Action.COURTESY, None, "1708 🙏 terima kasih", False, "complaint",
                 id="short-code-then-courtesy"),
    # thanks to our short code the other way round: past the emoji only "1708" was left, and help went out
    pytest.param("🙏 1708", Action.COURTESY, None, "🙏 1708", False, "complaint", id="emoji-then-short-code"),
    pytest.param("♥ a", Action.COURTESY, None, "♥ a", False, "complaint", id="emoji-then-a-filler-letter"),
    pytest.param("♥ 1708", Action.COURTESY, None, "♥ 1708", False, "complaint", id="heart-then-short-code"),
    pytest.param("🙏 ?", Action.HELP, None, "", False, "complaint", id="emoji-then-question-asks-for-help"),
    pytest.param("👍 1708 ?", Action.HELP, None, "", False, "complaint", id="emoji-short-code-question-asks-for-help"),
    pytest.param("🙏 1708 tolong", Action.HELP, None, "", False, "complaint", id="emoji-short-code-then-a-plea"),
])
def test_emoji_before_a_command_or_a_keyword_are_read_past(text: str, action: Action, tracking_id: str | None,
                                                           body: str, anonymous: bool, kind: str) -> None:
    """"🙏 CEK 10000004" was filed as a new report with a new ID, and "🙏🙏 ANONIM ..." as a named one: the reporter's
    number went to the agency."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.anonymous, parsed.kind.value) == (
        action, tracking_id, body, anonymous, kind)


@pytest.mark.parametrize("text", ["LAPOR nomor rahasia menelpon ibu saya", "ADUAN nomor private menipu warga"])
def test_a_flag_word_inside_a_kind_words_prose_sets_no_flag(text: str) -> None:
    """Read for a status question after the kind word ("LAPOR nomor saya?"), a flag word in the citizen's prose was
    taken as the report's flag: "nomor rahasia" (a withheld caller's number) made it confidential."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.confidential) == (Action.REPORT, False, False)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (f"status {VALID}", "id"),
        (f"STATUS no. {VALID}", "id"),
        (f"Status laporan no {VALID}", "id"),
        (f"check {VALID}", "en"),
        (f"What is the status of my report {VALID}", "en"),
        ("no water in my street since Monday", "en"),
        # English words Indonesians write in their own SMS: the words of our English answers mark English only in a
        # copy of help's instruction ("Please send CEK <id> later.")
        ("update dong min", "id"),
        ("Kapan update?", "id"),
        ("Banjir again", "id"),
        ("Minta uang 50rb for surat pengantar", "id"),
        ("Pembayaran via transfer to rekening pribadi pegawai", "id"),
        ("Bansos telat, when cair?", "id"),
        (f"Please send CEK {VALID} later.", "en"),
        # Indonesian and English mixed, as many write: Indonesian unless English clearly outnumbers it (twice the
        # markers); one English word more was enough, and the citizen got an answer in English
        ("Min, the road di depan rumah gw broken banget, please fix asap", "id"),
        ("the road rusak, jalan broken", "id"),  # three English markers to two
        ("gue udah lapor, the road is still broken", "id"),
        ("the road is broken, please fix, sudah lama", "en"),  # five to one
        ("the road is broken since march, please fix di desa", "en"),
        (f"TRACK {VALID}", "en"),
        ("QUESTION", "en"),
    ],
    ids=["status", "status-no", "status-laporan-no", "check", "english-sentence", "english-no", "update-dong",
         "kapan-update", "banjir-again", "uang-for-surat", "transfer-to-rekening", "when-cair", "copied-answer",
         "mixed-gw-banget", "mixed-one-more-english", "mixed-gue-udah", "mostly-english", "mostly-english-twice",
         "track-alone", "question-alone"],
)
def test_words_indonesians_use_too_do_not_make_the_reply_english(text: str, language: str) -> None:
    """"status" is Indonesian as much as English, and "no." is how Indonesians shorten "nomor"; "update", "for",
    "to", "again" are written in Indonesian SMS too, and mark English only in a copy of our English answer."""
    assert parse_text(text).language == language


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Terima kasih", Action.COURTESY),
        ("makasih", Action.COURTESY),
        ("ok", Action.COURTESY),
        ("Oke.", Action.COURTESY),
        ("SIAP!", Action.COURTESY),
        ("thanks", Action.COURTESY),
        ("tq", Action.COURTESY),
        ("Trims ya", Action.COURTESY),
        ("Ok 👍", Action.COURTESY),
        ("terima kasih banyak!", Action.COURTESY),
        ("Makasiiih bu 🙏🏽", Action.COURTESY),
        ("okeee sipp", Action.COURTESY),
        ("Terima kasih LAPOR!", Action.COURTESY),
        ("terima kasih @lapor1708", Action.COURTESY),
        ("Makasih 1708 :)", Action.COURTESY),
        ("#terimakasih", Action.COURTESY),
        ("Terima kasih atas tanggapannya pak", Action.COURTESY),
        ("Thank you very much!", Action.COURTESY),
        ("thanks a lot", Action.COURTESY),
        ("👍", Action.COURTESY),
        ("❤️", Action.COURTESY),
        ("LAPOR 👍", Action.COURTESY),
        ("Pak 🙏", Action.COURTESY),
        ("Ya", Action.COURTESY),
        ("iyaa pak", Action.COURTESY),
        # Thanks in a regional language, "amin", a wait for the answer: each was a case.
        ("matur nuwun", Action.COURTESY),
        ("Hatur nuhun pak", Action.COURTESY),
        ("Aamiin 🙏", Action.COURTESY),
        ("siap, ditunggu", Action.COURTESY),
        ("Ditunggu kabar baiknya min", Action.COURTESY),
        ("Makasih bnyk", Action.COURTESY),
        ("ditunggu 3 jam di puskesmas", Action.REPORT),
        ("Pak Amin minta uang", Action.REPORT),
        # Thanks for what became of the report (`[courtesy.done]`): each was a new case and a paid acknowledgement.
        ("Terima kasih, laporan saya sudah ditindaklanjuti", Action.COURTESY),
        ("Laporan sudah selesai, makasih pak", Action.COURTESY),
        ("sudah diperbaiki, terima kasih 🙏", Action.COURTESY),
        ("Thanks, my report has been resolved", Action.COURTESY),
        ("Terima kasih sudah membantu", Action.COURTESY),  # thanks for the help itself
        ("makasih pak sudah dibantu", Action.COURTESY),
        ("Terima kasih sudah dibantu, tapi jalan masih rusak", Action.REPORT),
        ("laporan saya sudah diproses?", Action.STATUS_HELP),  # asked, not thanked for
        ("terima kasih, laporan saya belum ditindaklanjuti", Action.REPORT),
        ("Terima kasih, tapi jalan sudah rusak lagi", Action.REPORT),
        ("laporan saya sudah diterima", Action.REPORT),  # no thanks
        ("terima kasih sudah", Action.REPORT),  # no state
        # Anything more is the citizen's to say: a report, a follow-up, a query.
        ("terima kasih, tapi jalan masih rusak", Action.REPORT),
        ("Ok, kapan diperbaiki?", Action.REPORT),
        ("terima kasih 1709", Action.REPORT),
        ("#anonim terima kasih", Action.REPORT),
        ("terima", Action.REPORT),
        ("banyak", Action.REPORT),
        ("1708", Action.HELP),  # no courtesy: our short code alone asks how to use it
        ("😡", Action.REPORT),
        ("help, thanks", Action.REPORT),
        (f"{VALID} terima kasih", Action.FOLLOW_UP),
        (f"CEK {VALID} makasih", Action.STATUS),
        ("?", Action.HELP),
        ("ya, jalan masih rusak", Action.REPORT),
    ],
    ids=["terima-kasih", "makasih", "ok", "oke-dot", "siap-exclaimed", "thanks", "tq", "trims-ya", "ok-emoji",
         "terima-kasih-banyak", "elongated-skin-tone", "elongated-both", "names-lapor", "names-handle", "names-1708",
         "hashtag", "atas-tanggapannya", "thank-you-very-much", "thanks-a-lot", "thumbs-up-alone", "heart-selector",
         "lapor-thumbs-up", "filler-and-emoji", "ya", "iya-elongated-pak", "javanese", "sundanese", "amin",
         "ditunggu", "ditunggu-kabar", "banyak-short", "ditunggu-prose", "amin-a-name", "thanks-report-handled",
         "report-done-thanks", "fixed-thanks-emoji", "thanks-resolved-en", "thanks-for-helping",
         "thanks-for-being-helped", "helped-but-broken", "done-asked", "thanks-not-yet-handled",
         "thanks-but-broken-again", "done-without-thanks", "thanks-done-without-a-state",
         "thanks-but", "ok-question", "another-number", "with-a-flag", "half-a-phrase", "filler-alone", "name-alone",
         "other-emoji-alone", "command-word-no-filler", "follow-up", "status", "help", "ya-and-a-report"],
)
def test_a_courtesy_is_only_thanks_or_an_ok(text: str, action: Action) -> None:
    """Citizens answer the acknowledgement with "Terima kasih": filed, it was a junk report with a new Tracking ID
    and a paid SMS back. A message with anything more stays what the rest of the grammar makes of it."""
    assert parse_text(text).action is action


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("STOP", Action.OPT_OUT),
        ("stop", Action.OPT_OUT),
        ("Stop.", Action.OPT_OUT),
        ("STOPPP!!", Action.OPT_OUT),
        ("UNREG", Action.OPT_OUT),
        ("unreg 1708", Action.OPT_OUT),
        ("STOP LAPOR", Action.OPT_OUT),
        ("Berhenti", Action.OPT_OUT),
        ("batal langganan", Action.OPT_OUT),
        ("Unsubscribe", Action.OPT_OUT),
        ("stop all", Action.OPT_OUT),
        ("END", Action.OPT_OUT),
        ("stop 😡", Action.OPT_OUT),
        # asked in words, of our SMS
        ("stop kirim sms", Action.OPT_OUT),
        ("Jangan kirim SMS lagi!", Action.OPT_OUT),
        ("jangan sms saya lagi 1708", Action.OPT_OUT),
        ("stop texting me", Action.OPT_OUT),
        ("stop kirim sms, jalan masih rusak", Action.REPORT),
        # Any other word is the citizen's: a report, a follow-up, a query.
        ("STOP pungli", Action.REPORT),
        ("berhenti bayar pungli di pasar", Action.REPORT),
        ("stop pak", Action.REPORT),
        ("batal", Action.REPORT),
        ("langganan", Action.REPORT),
        ("stop terima kasih", Action.REPORT),
        ("#anonim stop", Action.REPORT),
        ("LAPOR: stop", Action.OPT_OUT),  # our name, as in "STOP LAPOR": nothing to file either way
        (f"{VALID} stop", Action.FOLLOW_UP),
        (f"CEK {VALID}", Action.STATUS),
        ("terima kasih", Action.COURTESY),
    ],
    ids=["stop", "stop-lowercase", "stop-dot", "stop-elongated", "unreg", "unreg-short-code", "stop-our-name",
         "berhenti", "batal-langganan", "unsubscribe", "stop-all", "end", "stop-emoji",
         "stop-kirim-sms", "jangan-kirim-sms-lagi", "jangan-sms-saya-lagi", "stop-texting-me", "stop-kirim-and-words",
         "stop-and-words", "berhenti-and-words", "stop-filler", "half-a-phrase", "other-half", "stop-and-thanks",
         "with-a-flag", "our-name-first", "follow-up", "status", "courtesy"],
)
def test_an_opt_out_word_alone_is_neither_filed_nor_answered(text: str, action: Action) -> None:
    """"STOP" or "UNREG" alone was filed as a complaint (an empty case for an agency) and acknowledged by an SMS to
    someone who had asked for none. With anything more it stays what the rest of the grammar makes of it."""
    assert parse_text(text).action is action


@pytest.mark.parametrize(("text", "action"), [
    pytest.param("START", Action.OPT_IN, id="start"),
    pytest.param("start!", Action.OPT_IN, id="start-lowercase-exclaimed"),
    pytest.param("UNSTOP", Action.OPT_IN, id="unstop"),
    pytest.param("Yes", Action.OPT_IN, id="yes"),
    pytest.param("YESSS", Action.OPT_IN, id="yes-elongated"),
    pytest.param("START 1708", Action.OPT_IN, id="start-short-code"),
    pytest.param("LAPOR: start", Action.OPT_IN, id="our-name-first"),
    # Any other word is the citizen's: a report, a follow-up, a query.
    pytest.param("start pungli lagi di pasar", Action.REPORT, id="start-and-words"),
    pytest.param("yes pak", Action.REPORT, id="yes-filler"),
    pytest.param("yes terima kasih", Action.REPORT, id="yes-and-thanks"),
    pytest.param("#anonim start", Action.REPORT, id="with-a-flag"),
    pytest.param(f"{VALID} yes", Action.FOLLOW_UP, id="follow-up"),
    pytest.param("STOP", Action.OPT_OUT, id="stop-still-an-opt-out"),
    pytest.param("ok", Action.COURTESY, id="ok-still-a-courtesy"),
])
def test_an_opt_in_word_alone_is_neither_filed_nor_answered(text: str, action: Action) -> None:
    """Twilio's opt-in words ("START", "UNSTOP", "YES") alone were filed as complaints: empty cases for an agency and
    an acknowledgement nobody asked for. `[opt_in]` of config/keywords.toml."""
    assert parse_text(text).action is action


OTHER = format_tracking_id(7654321)


@pytest.mark.parametrize(
    ("text", "action", "tracking_id", "body", "language"),
    [
        (render("ack", "id", tracking_id=VALID), Action.STATUS, VALID, "", "id"),
        (render("ack", "en", tracking_id=VALID), Action.STATUS, VALID, "", "en"),
        ("Fwd: " + render("duplicate", "id", tracking_id=VALID), Action.STATUS, VALID, "", "id"),
        ("Pesan diteruskan\n" + render("status", "id", tracking_id=VALID, status=status_name("in_progress", "id")),
         Action.STATUS, VALID, "", "id"),
        # "not found, filed as a new report": the new report is the one to ask about
        (render("follow_up_unknown", "id", follow_up_of=OTHER, tracking_id=VALID), Action.STATUS, VALID, "", "id"),
        (render("follow_up", "en", follow_up_of=VALID), Action.STATUS, VALID, "", "en"),
        # "that ID is not valid, your photo was filed as a new report": the new report, not the mistyped ID
        (render("bad_tracking_id_photo", "id", typed_id=BAD, tracking_id=VALID), Action.STATUS, VALID, "", "id"),
        # folded by the phone that forwarded it
        (render("ack", "id", tracking_id=VALID).replace(" ", "\n", 3), Action.STATUS, VALID, "", "id"),
        (render("ack", "id", tracking_id=VALID) + " kok belum ada kabar?", Action.FOLLOW_UP, VALID,
         "kok belum ada kabar?", "id"),
        ("Pak ini gimana? " + render("ack", "id", tracking_id=VALID), Action.FOLLOW_UP, VALID, "Pak ini gimana?",
         "id"),
        # the shape of our status answer, with the citizen's words where the status goes: theirs, not ours
        (f"LAPOR! Laporan {VALID}: jalan masih rusak.", Action.REPORT, None, f"Laporan {VALID}: jalan masih rusak.",
         "id"),
        # retyped on a keyboard of fullwidth digits: the same report
        (render("ack", "id", tracking_id=VALID.translate(FULLWIDTH)), Action.STATUS, VALID, "", "id"),
        # retyped with a digit wrong: a mistyped ID, as typed alone, not a status query for a report that is none
        (render("ack", "id", tracking_id=BAD), Action.BAD_TRACKING_ID, BAD, BAD, "id"),
        # a forward's marker before it and words after: one space between them, as the citizen left it
        ("Fwd: " + render("ack", "id", tracking_id=VALID) + " masih rusak", Action.FOLLOW_UP, VALID,
         "Fwd: masih rusak", "id"),
    ],
    ids=["ack", "ack-en", "forwarded-duplicate", "forwarded-status", "follow-up-unknown", "follow-up-en",
         "bad-id-photo-filed-as-new", "folded",
         "words-after", "words-before", "status-shape-with-own-words", "ack-fullwidth-digits", "ack-mistyped-id",
         "forward-marker-and-words"],
)
def test_our_own_answer_sent_back_points_at_its_report(text: str, action: Action, tracking_id: str | None,
                                                       body: str, language: str) -> None:
    """A citizen who forwards our acknowledgement to 1708 asks about that report: filed, our own text became a new
    case with a new Tracking ID."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.language) == (action, tracking_id, body, language)


@pytest.mark.parametrize("case", [str, str.lower, str.upper])
@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("before", ["", "Fwd: ", "1708 "])
def test_our_kept_unfiled_notice_sent_back_is_left_unfiled_and_unanswered(before: str, language: str, case) -> None:
    """`[sms_kept_unfiled]` (no Tracking ID, no question) forwarded back to 1708, or echoed by an auto-responder: a
    courtesy, neither filed nor answered. Filed, our own words reached an agency as the citizen's complaint, and were
    acknowledged (one more SMS for an auto-responder to echo). In any case, as the answers' patterns read it: "lapor!
    maaf, sedang ada gangguan ..." was filed."""
    parsed = parse_text(case(before + render("sms_kept_unfiled", language)))
    assert (parsed.action, parsed.text) == (Action.COURTESY, "")


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("words", ["LAPOR jalan rusak di depan SD Negeri 3", "jalan rusak di depan SD Negeri 3",
                                   f"{VALID} jalan rusak di depan SD Negeri 3"])
def test_our_not_valid_answer_sent_back_with_words_files_them(words: str, language: str) -> None:
    """Our "Tracking ID not valid ... A new report? Text REPORT <text>." copied with the complaint it asks for: read
    as the refused number opening the words, it was answered "not valid" again and the complaint never filed. Alone
    it is that answer again."""
    ours = render("bad_tracking_id", language, tracking_id="15000000")
    assert parse_text(ours).action is Action.BAD_TRACKING_ID
    parsed = parse_text(f"{ours}\n{words}")
    assert parsed.action in (Action.REPORT, Action.FOLLOW_UP)
    assert "jalan rusak di depan SD Negeri 3" in parsed.text


def public(key: str, language: str, tracking_id: str = VALID, **fields: str) -> str:
    """Our public reply to a mention as the citizen sees it (workers.social_reply.reply_text's fields)."""
    return render(key, language, tracking_id=tracking_id, link=f"https://www.lapor.go.id/pengaduan/{tracking_id}",
                  ref=mention_ref("1860000000000000101"), **fields)


def former_public(key: str, language: str, **fields: str) -> str:
    """Our public reply in its first former words (`[<key>.former]`), as a citizen may still have it to copy."""
    template = load_replies()[key]["former"][language][0]
    return template.format(ref=mention_ref("1860000000000000101"), **fields)


@pytest.mark.parametrize(
    ("text", "action", "tracking_id", "body", "language"),
    [
        pytest.param(public("social_ack", "id"), Action.STATUS, VALID, "", "id", id="ack"),
        pytest.param(public("social_ack", "en"), Action.STATUS, VALID, "", "en", id="ack-en"),
        pytest.param(public("social_ack", "id") + "\n\nmasih rusak, belum ada perbaikan", Action.FOLLOW_UP, VALID,
                     "masih rusak, belum ada perbaikan", "id", id="ack-and-words-after"),
        pytest.param("kok belum ada kabar? " + public("social_ack", "id"), Action.FOLLOW_UP, VALID,
                     "kok belum ada kabar?", "id", id="words-before"),
        pytest.param(public("social_follow_up", "en") + " still broken", Action.FOLLOW_UP, VALID, "still broken",
                     "en", id="follow-up-en-and-words"),
        # opens as help's label for an addition does ("Tambahan untuk laporan <id> ..."): the words after it are still
        # ours (they were added to the report as the citizen's)
        pytest.param(public("social_follow_up", "id"), Action.STATUS, VALID, "", "id", id="follow-up"),
        pytest.param("@lapor1708 " + public("social_follow_up", "id") + " masih rusak", Action.FOLLOW_UP, VALID,
                     "masih rusak", "id", id="follow-up-and-words"),
        # our public help names no report: the help again (it was an anonymous report of our words, for its #anonim)
        pytest.param("@lapor1708 " + public("social_help", "id"), Action.HELP, None, "", "id", id="help"),
        pytest.param(public("social_help", "en"), Action.HELP, None, "", "en", id="help-en"),
        # reworded: copies of the former words are still ours
        pytest.param("@lapor1708 " + former_public("social_help", "id"), Action.HELP, None, "", "id",
                     id="help-former"),
        pytest.param(former_public("social_bad_tracking_id", "id", typed_id=BAD), Action.BAD_TRACKING_ID, BAD, "",
                     "id", id="bad-id-former"),
        pytest.param(former_public("social_bad_tracking_id", "en", typed_id=BAD), Action.BAD_TRACKING_ID, BAD, "",
                     "en", id="bad-id-former-en"),
        # opens as a status command does ("Status laporan <id>"): the words after it are still ours
        pytest.param(public("social_status", "id"), Action.STATUS, VALID, "", "id", id="status"),
        pytest.param(public("social_status", "id") + " lubangnya makin besar", Action.FOLLOW_UP, VALID,
                     "lubangnya makin besar", "id", id="status-and-words"),
        # "not found, filed as a new report" and "that ID is not valid, filed as a new report": the new report
        pytest.param(public("social_follow_up_unknown", "id", typed_id=OTHER), Action.STATUS, VALID, "", "id",
                     id="follow-up-unknown"),
        pytest.param(public("social_bad_tracking_id_photo", "en", typed_id=BAD), Action.STATUS, VALID, "", "en",
                     id="bad-id-photo-filed-as-new"),
        # as X holds our reply (the @handle it answered first) and shows its link (cut short)
        pytest.param(f"@siti_rahma {public('social_ack', 'id')}".replace(f"/{VALID} ", f"/{VALID[:4]}… "),
                     Action.STATUS, VALID, "", "id", id="as-x-shows-it"),
        pytest.param(f"sudah 2 minggu @siti_rahma {public('social_ack', 'id')}", Action.FOLLOW_UP, VALID,
                     "sudah 2 minggu", "id", id="the-handle-x-put-before-it-is-ours"),
        pytest.param(public("social_ack", "id", tracking_id=BAD), Action.BAD_TRACKING_ID, BAD, BAD, "id",
                     id="retyped-with-a-digit-wrong"),
        # without its reference it is not our reply as sent: the words are the citizen's
        pytest.param(f"Status laporan {VALID} dapat dilihat di kantor desa, jalan masih rusak", Action.STATUS, VALID,
                     "dapat dilihat di kantor desa, jalan masih rusak", "id", id="a-status-command-of-its-own"),
    ],
)
def test_our_own_public_reply_sent_back_points_at_its_report(text: str, action: Action, tracking_id: str | None,
                                                             body: str, language: str) -> None:
    """A citizen who copies our public reply to a mention into a new one ("Laporan Anda kami terima. Nomor lacak:
    <id>. Pantau di <link> (ref ...)", and "masih rusak") points at that report, as with our SMS answers sent back:
    filed, our own text became a new case."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.tracking_id, parsed.text, parsed.language) == (action, tracking_id, body, language)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Halo", Action.HELP),
        ("P", Action.HELP),
        ("p", Action.HELP),
        ("tes", Action.HELP),
        ("Test 1708", Action.HELP),
        ("Assalamualaikum", Action.HELP),
        ("Assalamu'alaikum wr wb", Action.HELP),
        ("Selamat pagi pak", Action.HELP),
        ("Halooo min!", Action.HELP),
        ("Permisi, LAPOR", Action.HELP),
        ("Good morning", Action.HELP),
        ("1708 halo", Action.HELP),
        ("Halo min, lampu jalan di gang 3 mati", Action.REPORT),
        ("halo terima kasih", Action.REPORT),
        ("Pagi ini banjir lagi", Action.REPORT),
        ("Halo 👍", Action.HELP),
        ("#anonim halo", Action.REPORT),
        # one key pressed, as a menu's choice: no case of "1" for an agency (with a kind word it is the citizen's)
        ("1", Action.HELP),
        ("a", Action.HELP),
        ("3 🙏", Action.HELP),
        ("LAPOR a", Action.REPORT),
        ("1 jalan rusak", Action.REPORT),
    ],
    ids=["halo", "p", "p-lower", "tes", "test-short-code", "salam", "salam-wr-wb", "selamat-pagi", "elongated",
         "permisi-lapor", "english", "short-code-first", "with-a-report", "with-thanks", "a-greeting-word-in-prose",
         "with-emoji", "with-a-flag", "one-digit", "one-letter", "one-digit-and-emoji", "one-letter-after-a-kind",
         "one-digit-and-words"],
)
def test_a_greeting_alone_is_answered_with_help(text: str, action: Action) -> None:
    """"Halo", "P", "Assalamualaikum": citizens open so before saying what is wrong. Filed, each was an empty case and
    an acknowledgement saying a report was received; help tells them how to report."""
    assert parse_text(text).action is action


@pytest.mark.parametrize(("text", "action", "anonymous", "language"), [
    pytest.param("mau lapor", Action.HELP, False, "id", id="mau-lapor"),
    pytest.param("Halo min, mau lapor", Action.HELP, False, "id", id="greeting-mau-lapor"),
    pytest.param("Selamat siang. Saya ingin melaporkan", Action.HELP, False, "id", id="ingin-melaporkan"),
    pytest.param("bagaimana cara lapor?", Action.HELP, False, "id", id="bagaimana-cara-lapor"),
    pytest.param("lapor gimana?", Action.HELP, False, "id", id="lapor-gimana"),
    pytest.param("gimana caranya lapor anonim?", Action.HELP, True, "id", id="how-to-report-anonymously"),
    pytest.param("Saya mau lapor, tapi takut ketahuan", Action.HELP, True, "id", id="fear-and-nothing-reported"),
    pytest.param("How do I report?", Action.HELP, False, "en", id="how-do-i-report"),
    pytest.param("apakah bisa lapor lewat sms?", Action.HELP, False, "id", id="by-sms"),
    pytest.param("bisa lapor via WA?", Action.HELP, False, "id", id="by-whatsapp"),
    pytest.param("can I report anonymously?", Action.HELP, True, "en", id="anonymously-en"),
    pytest.param("bisa lapor tanpa nama?", Action.HELP, True, "id", id="tanpa-nama"),
    # A status question is read first; anything reported makes it a report.
    pytest.param("laporan saya gimana?", Action.STATUS_HELP, False, "id", id="status-question"),
    pytest.param("mau lapor pungli di pasar", Action.REPORT, False, "id", id="something-reported"),
    pytest.param("Saya ingin melaporkan pungli", Action.REPORT, False, "id", id="something-reported-formally"),
    pytest.param("mau", Action.REPORT, False, "id", id="no-report-word"),
    # A wish to ask, or for the form, and nothing asked yet: help, which shows INFO (each was a case of its words).
    pytest.param("mau tanya", Action.HELP, False, "id", id="mau-tanya"),
    pytest.param("Boleh nanya min?", Action.HELP, False, "id", id="boleh-nanya"),
    pytest.param("format lapor gimana?", Action.HELP, False, "id", id="format"),
    pytest.param("bisa lapor di sini?", Action.HELP, False, "id", id="di-sini"),
    pytest.param("mau tanya, kapan bansos cair", Action.REPORT, False, "id", id="something-asked"),
    pytest.param("mau tanya laporan saya", Action.STATUS_HELP, False, "id", id="asking-about-a-report"),
    # Help or the way asked for with no report word, the one to be helped after a help word, an English greeting.
    pytest.param("gimana caranya?", Action.HELP, False, "id", id="gimana-caranya"),
    pytest.param("bisa dibantu?", Action.HELP, False, "id", id="bisa-dibantu"),
    pytest.param("help me", Action.HELP, False, "en", id="help-me"),
    pytest.param("tolong saya", Action.HELP, False, "id", id="tolong-saya"),
    pytest.param("hi there", Action.HELP, False, "en", id="hi-there"),
    pytest.param("help me, jalan rusak di depan rumah", Action.REPORT, False, "id", id="help-me-and-a-report"),
    pytest.param("gimana caranya jalan ini diperbaiki?", Action.REPORT, False, "id", id="caranya-of-something"),
    pytest.param("bisa dibantu jalan rusak?", Action.REPORT, False, "id", id="dibantu-with-a-report"),
    pytest.param("hi there, the road is broken", Action.REPORT, False, "en", id="hi-there-and-a-report"),
    # A plea for help and nothing said of what: each was filed as a report of its words.
    pytest.param("mohon dibantu", Action.HELP, False, "id", id="mohon-dibantu"),
    pytest.param("Mohon bantuannya pak", Action.HELP, False, "id", id="mohon-bantuannya"),
    pytest.param("tolong bantu saya", Action.HELP, False, "id", id="tolong-bantu-saya"),
    pytest.param("minta tolong", Action.HELP, False, "id", id="minta-tolong"),
    pytest.param("saya butuh bantuan", Action.HELP, False, "id", id="butuh-bantuan"),
    pytest.param("please help me", Action.HELP, False, "en", id="please-help-me"),
    pytest.param("I need help", Action.HELP, False, "en", id="i-need-help"),
    pytest.param("mohon dibantu, saya takut", Action.HELP, True, "id", id="plea-and-fear"),
    pytest.param("Mohon bantuannya, terima kasih", Action.HELP, False, "id", id="plea-and-thanks"),
    pytest.param("please help, thanks", Action.HELP, False, "en", id="plea-and-thanks-en"),
    pytest.param("Mohon bantuannya, terimakasih", Action.HELP, False, "id", id="plea-and-thanks-one-word"),
    pytest.param("Terimakasih, mohon dibantu", Action.HELP, False, "id", id="thanks-one-word-and-plea"),
    pytest.param("tolong bantu pak, mksh", Action.HELP, False, "id", id="plea-and-thanks-abbreviated"),
    pytest.param("mohon bantuannya, terimakasih. Jalan rusak", Action.REPORT, False, "id",
                 id="plea-thanks-one-word-report"),
    pytest.param("mohon bantuannya, terima kasih. Jalan rusak", Action.REPORT, False, "id", id="plea-thanks-report"),
    pytest.param("mohon dibantu jalan rusak di desa kami", Action.REPORT, False, "id", id="plea-with-a-report"),
    pytest.param("butuh bantuan hukum", Action.REPORT, False, "id", id="help-of-a-kind-named"),
    pytest.param("minta bantuan sembako belum dapat", Action.REPORT, False, "id", id="aid-not-received"),
])
def test_a_wish_to_report_or_a_question_how_is_answered_with_help(text: str, action: Action, anonymous: bool,
                                                                 language: str) -> None:
    """"mau lapor", "bagaimana cara lapor?", "gimana caranya lapor anonim?": each was a case of its words at an agency,
    acknowledged as a report (an anonymous one for the last). Help says how, and how to report anonymously; the flags
    its words ask are kept for a photo sent with it."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.language) == (action, anonymous, language)


@pytest.mark.parametrize(("text", "kind", "kept", "anonymous"), [
    pytest.param("LAPOR PAK", "complaint", "", False, id="kind-and-a-term-of-address"),
    pytest.param("Lapor pak!", "complaint", "", False, id="exclaimed"),
    pytest.param("Tanya min", "information_request", "", False, id="tanya-min"),
    pytest.param("info dong min", "information_request", "", False, id="particle-and-address"),
    pytest.param("LAPOR ANONIM pak", "complaint", "", True, id="with-a-flag"),
    pytest.param("min", "complaint", "", False, id="alone"),
    # anything named stays the report's text
    pytest.param("LAPOR pak sekolah", "complaint", "pak sekolah", False, id="with-a-word-of-theirs"),
    pytest.param("pak jalan rusak", "complaint", "pak jalan rusak", False, id="before-a-report"),
])
def test_terms_of_address_alone_are_no_report_text(text: str, kind: str, kept: str, anonymous: bool) -> None:
    """"LAPOR pak", "Tanya min": nothing reported yet, so no text, and help is sent as for "LAPOR" alone. Filed, each
    was a case of "pak" or "min" at an agency, acknowledged as a report."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.kind, parsed.text, parsed.anonymous) == (Action.REPORT, kind, kept, anonymous)


def test_a_photo_sent_with_a_wish_to_report_anonymously_is_its_anonymous_report() -> None:
    normalized = normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="MM1", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text="Saya mau lapor, tapi takut ketahuan",
        received_at=datetime(2026, 11, 22, tzinfo=UTC), attachments=[PHOTO]))
    assert normalized.draft is not None and normalized.draft.anonymous


@pytest.mark.parametrize("text", ["[...] mohon bantuannya pak", "[...] terima kasih", "[...] tolong", "[...] STOP"])
def test_the_parts_that_came_of_an_sms_taken_without_the_others_are_filed_whatever_they_say(text: str) -> None:
    """The last part of a long complaint ("... mohon bantuannya pak") is a plea, thanks or help on its own: answered
    with help or nothing, the parts that came were dropped with the complaint the network lost. Filed as they are,
    anonymous, and the citizen is told the rest is missing (`[ack_incomplete]`)."""
    normalized = normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="SM-cut", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC), incomplete=True))
    assert normalized.draft is not None and normalized.draft.anonymous and normalized.draft.text == text


PHOTO = Attachment(content_type="image/jpeg", location="https://api.twilio.com/2010-04-01/Accounts/AC1/Media/ME1")
QUOTED_POST = "[Kutipan / Quoted] https://x.com/i/status/1860000000000000950\n> Jalan di depan SDN 3 berlubang"
OWN_EARLIER_POST = "[Post pelapor sebelumnya di X / The reporter's earlier post on X]\n> Jalan di depan SDN 3 berlubang"


@pytest.mark.parametrize(("channel", "text", "attachments", "quoted", "expected"), [
    pytest.param(Channel.SMS, "Halo", [PHOTO], None, "Halo", id="greeting-and-a-photo"),
    pytest.param(Channel.SMS, "P", [PHOTO], None, "P", id="p-and-a-photo"),
    pytest.param(Channel.SMS, "tolong", [PHOTO], None, "tolong", id="help-word-and-a-photo"),
    pytest.param(Channel.SMS, "1708", [PHOTO], None, "1708", id="short-code-and-a-photo"),
    pytest.param(Channel.SMS, "Terima kasih", [PHOTO], None, "Terima kasih", id="thanks-and-a-photo"),
    pytest.param(Channel.TWITTER, "tolong", [], QUOTED_POST, f"tolong\n\n{QUOTED_POST}", id="help-word-quoting-a-post"),
    pytest.param(Channel.TWITTER, "Halo min", [], QUOTED_POST, f"Halo min\n\n{QUOTED_POST}",
                 id="greeting-quoting-a-post"),
    pytest.param(Channel.SMS, "cek dong", [PHOTO], None, "cek dong", id="status-question-and-a-photo"),
    pytest.param(Channel.SMS, "gimana laporan saya?", [PHOTO], None, "gimana laporan saya?",
                 id="status-question-without-a-command-and-a-photo"),
    pytest.param(Channel.TWITTER, "cek dong", [], QUOTED_POST, f"cek dong\n\n{QUOTED_POST}",
                 id="status-question-quoting-a-post"),
    pytest.param(Channel.SMS, "Halo", [], None, None, id="greeting-alone-is-help"),
    pytest.param(Channel.SMS, "\ufffd", [], None, None, id="an-undecodable-character-alone-is-help"),
    pytest.param(Channel.SMS, "LAPOR \ufffd\ufffd", [], None, None, id="kind-word-and-undecodable-is-help"),
    pytest.param(Channel.SMS, "\ufffd", [PHOTO], None, "\ufffd", id="an-undecodable-character-and-a-photo"),
    pytest.param(Channel.TWITTER, "tolong", [], None, None, id="help-word-alone-is-help"),
    # No letter or digit at all: a case of three angry faces was filed and acknowledged as a report.
    pytest.param(Channel.SMS, "😡😡😡", [], None, None, id="emoji-alone-is-help"),
    pytest.param(Channel.SMS, "ANONIM 🔥🔥", [], None, None, id="flag-and-emoji-is-help"),
    # A keyword and a greeting or thanks alone: an agency got a case of "halo".
    pytest.param(Channel.SMS, "ANONIM halo", [], None, None, id="flag-and-a-greeting-is-help"),
    pytest.param(Channel.SMS, "WBS halo min", [], None, None, id="kind-and-a-greeting-is-help"),
    pytest.param(Channel.SMS, "LAPOR ANONIM terima kasih", [], None, None, id="keywords-and-thanks-are-help"),
    pytest.param(Channel.TWITTER, "#anonim selamat pagi", [], None, None, id="hashtag-and-a-greeting-is-help"),
    pytest.param(Channel.SMS, "ANONIM halo", [PHOTO], None, "", id="flag-a-greeting-and-a-photo"),
    pytest.param(Channel.SMS, "ANONIM halo, jalan rusak", [], None, "halo, jalan rusak",
                 id="flag-a-greeting-and-words-are-a-report"),
    pytest.param(Channel.SMS, "!!! $$$ ***", [], None, None, id="symbols-alone-are-help"),
    pytest.param(Channel.TWITTER, "👀👀", [], None, None, id="emoji-mention-is-help"),
    pytest.param(Channel.SMS, "😡", [PHOTO], None, "😡", id="emoji-and-a-photo"),
    pytest.param(Channel.TWITTER, "👀", [], QUOTED_POST, f"👀\n\n{QUOTED_POST}", id="emoji-quoting-a-post"),
    pytest.param(Channel.SMS, "🤬🤬 jalan rusak", [], None, "🤬🤬 jalan rusak", id="emoji-and-words-are-a-report"),
    pytest.param(Channel.SMS, "😡 ٣", [], None, None, id="emoji-and-one-digit-is-help"),
    pytest.param(Channel.SMS, "😡 جسر", [], None, "😡 جسر", id="emoji-and-a-word-of-any-script-are-a-report"),
])
def test_a_greeting_or_help_word_with_a_photo_or_a_quoted_post_is_a_report(
        channel: Channel, text: str, attachments: list[Attachment], quoted: str | None, expected: str | None) -> None:
    """A photo is something to report whatever the words beside it, and "@lapor1708 tolong" under a complaint asks us
    to take that post: answered with help, the photo or the post was never filed."""
    kind, address = (SenderKind.MSISDN, "+6281234567890") if channel is Channel.SMS else (SenderKind.X_USER, "123")
    normalized = normalize(InboundMessage(
        channel=channel, source="table", provider_message_id="SM1", sender_kind=kind, sender_address=address,
        text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC), attachments=attachments, quoted_text=quoted))
    if expected is None:
        assert normalized.query is not None and normalized.query.action is Action.HELP
        return
    assert normalized.draft is not None
    assert (normalized.draft.text, len(normalized.draft.attachments)) == (expected, len(attachments))
    assert normalized.draft.anonymous is ("anonim" in text.lower())  # a flag read off the words stays the report's


@pytest.mark.parametrize(("text", "quoted", "filed"), [
    pytest.param("@lapor1708 ditunggu tindak lanjutnya", QUOTED_POST, True, id="awaiting-under-a-post"),
    pytest.param("ditunggu ya min 🙏", QUOTED_POST, True, id="awaiting-with-fillers-under-a-post"),
    pytest.param("Tunggu kabarnya min", QUOTED_POST, True, id="tunggu-under-a-post"),
    pytest.param("ditunggu tindak lanjutnya", None, False, id="awaiting-alone-is-a-courtesy"),
    pytest.param("terima kasih min", QUOTED_POST, False, id="thanks-under-a-post-stays-a-courtesy"),
    pytest.param("mantap min", QUOTED_POST, False, id="praise-under-a-post-stays-a-courtesy"),
    pytest.param("@lapor1708 ditunggu tindak lanjutnya", OWN_EARLIER_POST, False,
                 id="awaiting-under-the-senders-own-post-stays-a-courtesy"),
])
def test_a_wait_for_our_answer_under_a_quoted_post_files_that_post(text: str, quoted: str | None, filed: bool) -> None:
    """"@lapor1708 ditunggu tindak lanjutnya" quoting a viral complaint asks us to act on it, as "tolong" does: read as
    the courtesy it is alone, the complaint reached no agency. Thanks or praise there stay a courtesy (under our own
    answer, or a citizen's "good job"), and so does a wait under the sender's own complaint: filed, it added that
    complaint to its own report again, or filed it twice once its claim had expired."""
    own = quoted == OWN_EARLIER_POST
    normalized = normalize(InboundMessage(
        channel=Channel.TWITTER, source="table", provider_message_id="1", sender_kind=SenderKind.X_USER,
        sender_address="123", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC), quoted_text=quoted,
        replied_to="1860000000000000950", own_posts=("1860000000000000950",) if own else ()))
    if not filed:
        assert normalized.draft is None and normalized.query is not None
        assert normalized.query.action is Action.COURTESY
        return
    assert normalized.draft is not None and normalized.draft.text.endswith(f"\n\n{QUOTED_POST}")

def test_a_mail_of_undecodable_characters_is_still_filed_with_its_subject() -> None:
    """Help for nothing readable is the SMS's and the mentions': a mail's subject, kept beside its text, may hold the
    complaint, and answered with help it was never filed."""
    normalized = normalize(InboundMessage(
        channel=Channel.EMAIL, source="table", provider_message_id="<m1@example.net>", sender_kind=SenderKind.EMAIL,
        sender_address="warga@example.net", text="\ufffd\ufffd", subject="Pungli di kantor kelurahan",
        received_at=datetime(2026, 11, 22, tzinfo=UTC)))
    assert normalized.query is None and normalized.draft is not None
    assert normalized.draft.subject == "Pungli di kantor kelurahan"


@pytest.mark.parametrize("subject", [None, "", "Re: Fwd:"])
def test_a_mail_of_undecodable_characters_without_a_subject_is_nothing_to_file(subject: str | None) -> None:
    """Without a subject of words beside it, a mail of nothing readable is no report (filed, a case of "?")."""
    normalized = normalize(InboundMessage(
        channel=Channel.EMAIL, source="table", provider_message_id="<m1@example.net>", sender_kind=SenderKind.EMAIL,
        sender_address="warga@example.net", text="\ufffd\n\ufffd", subject=subject,
        received_at=datetime(2026, 11, 22, tzinfo=UTC)))
    assert normalized.draft is None


@pytest.mark.parametrize(("channel", "text", "anonymous", "confidential"), [
    pytest.param(Channel.SMS, "Fwd: " + render("help", "id"), True, False, id="help"),
    pytest.param(Channel.SMS, render("help", "en"), True, False, id="help-en"),
    pytest.param(Channel.INSTAGRAM, "@lapor1708 " + render("social_help", "id", ref=mention_ref("1")), True, True,
                 id="social-help"),
    pytest.param(Channel.SMS, "Fwd: " + render("status_help", "id"), False, False, id="status-help"),
])
def test_our_answer_sent_back_with_a_photo_is_a_report_with_the_flags_its_text_gives(
        channel: Channel, text: str, anonymous: bool, confidential: bool) -> None:
    """Our help sent back alone is asked again; with a photo it is a report of it, and the "ANONIM", "#anonim" and
    "#rahasia" it holds count as in any report: read as a help request's, none, the photo's report was named and
    public."""
    kind, address = (SenderKind.MSISDN, "+6281234567890") if channel is Channel.SMS else (SenderKind.IG_USER, "123")
    normalized = normalize(InboundMessage(
        channel=channel, source="table", provider_message_id="SM1", sender_kind=kind, sender_address=address,
        text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC), attachments=[PHOTO]))
    assert normalized.draft is not None
    assert (normalized.draft.anonymous, normalized.draft.confidential) == (anonymous, confidential)


@pytest.mark.parametrize(("text", "body", "kind", "anonymous", "confidential"), [
    pytest.param("[ANONIM] pungli di pasar", "pungli di pasar", "complaint", True, False, id="square-brackets"),
    pytest.param("(ANONIM) pungli di pasar", "pungli di pasar", "complaint", True, False, id="round-brackets"),
    pytest.param("*ANONIM* pungli di pasar", "pungli di pasar", "complaint", True, False, id="whatsapp-bold"),
    pytest.param("_RAHASIA_ camat terima suap", "camat terima suap", "complaint", False, True, id="whatsapp-italic"),
    pytest.param("[WBS] [ANONIM] camat terima suap", "camat terima suap", "whistleblowing", True, False,
                 id="kind-and-flag-tags"),
    pytest.param("LAPOR (ANONIM): pungli", "pungli", "complaint", True, False, id="kind-then-bracketed-flag"),
    pytest.param("[LAPOR]: [ANONIM] pungli", "pungli", "complaint", True, False, id="tags-and-a-colon"),
    pytest.param("【ＡＮＯＮＩＭ】 pungli", "pungli", "complaint", True, False, id="fullwidth-in-cjk-brackets"),
    pytest.param("pungli di pasar [ANONIM]", "pungli di pasar", "complaint", True, False, id="trailing-brackets"),
    pytest.param("pungli di pasar *anonim*", "pungli di pasar", "complaint", True, False, id="trailing-bold"),
    # Help's placeholder marks around the flag word, as "LAPOR ANONIM <isi>" leads some to type it: taken off as a
    # placeholder's, the word was the citizen's and their number reached the agency.
    pytest.param("<ANONIM> pungli di pasar", "pungli di pasar", "complaint", True, False, id="angle-brackets"),
    pytest.param("LAPOR <ANONIM> pungli di pasar", "pungli di pasar", "complaint", True, False,
                 id="kind-then-angle-bracketed-flag"),
    pytest.param("ketik LAPOR <ANONIM> <pungli di pasar>", "pungli di pasar", "complaint", True, False,
                 id="copied-from-help-with-marks"),
    pytest.param("＜ＲＡＨＡＳＩＡ＞ camat terima suap", "camat terima suap", "complaint", False, True,
                 id="fullwidth-angle-brackets"),
    pytest.param("pungli di pasar <anonim>", "pungli di pasar", "complaint", True, False,
                 id="trailing-angle-brackets"),
    # Markdown's bold (Telegram, a desktop chat), and quotes around the word: the citizen's word, their number sent.
    pytest.param("**ANONIM** pungli di pasar", "pungli di pasar", "complaint", True, False, id="double-asterisks"),
    pytest.param('"ANONIM" pungli di pasar', "pungli di pasar", "complaint", True, False, id="double-quotes"),
    pytest.param("\u201cANONIM\u201d pungli di pasar", "pungli di pasar", "complaint", True, False,
                 id="curly-quotes"),
    pytest.param("'RAHASIA' camat terima suap", "camat terima suap", "complaint", False, True, id="single-quotes"),
    pytest.param("pungli di pasar **anonim**", "pungli di pasar", "complaint", True, False, id="trailing-double-bold"),
    pytest.param("harga <anonim> > 5000", "harga <anonim> > 5000", "complaint", False, False,
                 id="angle-brackets-inside-the-text"),
    # Marks that do not pair, or wrap more than the word, are the citizen's text.
    pytest.param("[ANONIM pungli di pasar]", "[ANONIM pungli di pasar]", "complaint", False, False,
                 id="bracket-around-the-text"),
    # the anonymity word glued to them still asks it, in doubt a wish: the marks stay the text's
    pytest.param("(ANONIM] pungli", "(ANONIM] pungli", "complaint", True, False, id="unpaired"),
    pytest.param('"ANONIM pungli" di pasar', '"ANONIM pungli" di pasar', "complaint", False, False,
                 id="quotes-around-more-than-the-word"),
    pytest.param("(anonimnya) pungli", "(anonimnya) pungli", "complaint", False, False, id="longer-word"),
    pytest.param("_rahasia_kantor bocor", "_rahasia_kantor bocor", "complaint", False, False, id="glued-to-a-word"),
    # An underscore inside a handle is no tag mark: "@budi_rahasia" is a name, kept whole.
    pytest.param("jalan berlubang, cc @budi_rahasia", "jalan berlubang, cc @budi_rahasia", "complaint", False, False,
                 id="handle-at-the-end"),
])
def test_a_flag_or_kind_word_in_brackets_or_bold_marks_counts(text: str, body: str, kind: str, anonymous: bool,
                                                              confidential: bool) -> None:
    """"[ANONIM] ...", "*ANONIM* ...": a tag as mail subjects and chat apps write it. Read as the text's first word,
    the flag was missed and the reporter's number reached the agency."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.kind.value, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, body, kind, anonymous, confidential)


@pytest.mark.parametrize("subject", [
    pytest.param("[ANONIM] Pungli di kelurahan", id="bracketed"),
    # a keypad slip of the flag word, n and m on one key: a named report
    pytest.param("Aduan anonm", id="aduan-anonm"),
])
def test_a_bracketed_flag_in_a_mail_subject_makes_the_report_anonymous(subject: str) -> None:
    normalized = normalize(InboundMessage(
        channel=Channel.EMAIL, source="email-smtp", provider_message_id="<m1@example.net>",
        sender_kind=SenderKind.EMAIL, sender_address="Warga@Example.NET", subject=subject,
        text="Petugas kelurahan meminta uang Rp 500.000 untuk surat domisili.",
        received_at=datetime(2026, 11, 22, tzinfo=UTC)))
    assert normalized.draft is not None and normalized.draft.anonymous


@pytest.mark.parametrize(("text", "body", "anonymous", "confidential"), [
    pytest.param("pungli di pasar, ANONIM 🙏", "pungli di pasar", True, False, id="praying-hands"),
    pytest.param("pungli di pasar. ANONIM🙏🏽🙏🏽", "pungli di pasar.", True, False, id="skin-tone-glued"),
    pytest.param("camat terima suap (rahasia) 🙏", "camat terima suap", False, True, id="bracketed-then-emoji"),
    pytest.param("pungli di pasar, anonim ❤️", "pungli di pasar", True, False, id="emoji-with-selector"),
    # After a plain space the word stays the citizen's, as without the emoji: flagged, never cut off.
    pytest.param("pejabat menyimpan dokumen rahasia 😡", "pejabat menyimpan dokumen rahasia 😡", False, True,
                 id="prose-word-kept"),
    pytest.param("jalan rusak di Desa Anonim Jaya 🙏", "jalan rusak di Desa Anonim Jaya 🙏", False, False,
                 id="no-flag-at-the-end"),
])
def test_a_flag_word_at_the_end_counts_with_emoji_after_it(text: str, body: str, anonymous: bool,
                                                           confidential: bool) -> None:
    """"..., ANONIM 🙏": the closing emoji many add after the flag help taught them. The flag was missed there and
    the reporter's number reached the agency."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, body, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("jalan rusak, mohon anonim. Terima kasih", True, False, id="thanks-after-the-flag"),
    pytest.param("pungli di pasar, anonim ya", True, False, id="ya-after-the-flag"),
    pytest.param("Kepala desa minta uang 500rb. Anonim aja ya", True, False, id="aja-after-the-flag"),
    pytest.param("Kepala desa minta uang 500rb. anonim saja", True, False, id="saja-after-the-flag"),
    pytest.param("pungli di pasar, ANONIM ya pak", True, False, id="ya-pak"),
    pytest.param("camat terima suap, RAHASIA. Makasih banyak ya pak 🙏", False, True, id="thanks-and-emoji"),
    pytest.param("kades potong BLT, tambah anonim, terima kasih", True, False, id="opener-flag-thanks"),
    pytest.param("pejabat menyimpan dokumen rahasia ya", False, True, id="prose-word-flagged-kept"),
    # No flag before the thanks: nothing set, nothing taken.
    pytest.param("jalan rusak terima kasih", False, False, id="thanks-alone"),
    pytest.param("jalan rusak di Desa Anonim Jaya, terima kasih", False, False, id="flag-word-inside-a-name"),
])
def test_a_flag_word_at_the_end_counts_with_thanks_after_it(text: str, anonymous: bool, confidential: bool) -> None:
    """"..., mohon anonim. Terima kasih": thanks closing the message hid the flag before it, as a closing emoji did,
    and the whistleblower's number reached the agency. The flag counts; the text stays as typed (thanks kept)."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, text, anonymous, confidential)


def test_a_long_text_of_thanks_is_read_back_a_few_words_only() -> None:
    """The look back over a closing "terima kasih ya pak" is bounded: a text of thousands of thanks costs no more, and
    the flag word before them is not taken off the text. Its clause ("ANONIM terima kasih ...", the thanks its tails)
    states the report anonymous, which it is (a statement of anonymity, `[flags_in_words]`)."""
    text = "pungli di pasar, ANONIM " + "terima kasih " * 20_000
    parsed = parse_text(text)
    assert (parsed.anonymous, parsed.text) == (True, text.rstrip())


@pytest.mark.parametrize(("text", "action", "anonymous"), [
    pytest.param("Kepala desa potong BLT. Mohon identitas saya dirahasiakan", Action.REPORT, True,
                 id="help-s-words-turned-round"),
    pytest.param("tolong rahasiakan nama saya, camat terima suap", Action.REPORT, True, id="rahasiakan-nama-saya"),
    pytest.param("LAPOR pungli di pasar. Jangan sebut nama saya ya pak", Action.REPORT, True, id="jangan-sebut"),
    pytest.param("WBS kades korupsi dana desa, IDENTITAS PELAPOR DIRAHASIAKAN!", Action.REPORT, True,
                 id="capitals-and-punctuation"),
    pytest.param("Please keep my identity secret: the officer took a bribe", Action.REPORT, True, id="english"),
    pytest.param("Don't use my name. The officer took a bribe", Action.REPORT, True, id="english-apostrophe"),
    pytest.param(f"{VALID} saya saksi, rahasiakan identitas saya", Action.FOLLOW_UP, True, id="follow-up"),
    pytest.param("Mohon dirahasiakan identitas pelapor", Action.REPORT, True, id="dirahasiakan-identitas-pelapor"),
    # A wish to report or stay anonymous mid-sentence, in the first person: each was a named report, the
    # whistleblower's number at the agency.
    pytest.param("Saya ingin melapor secara anonim karena takut dipecat, kepala dinas minta setoran", Action.REPORT,
                 True, id="saya-ingin-melapor-secara-anonim"),
    pytest.param("Saya melaporkan secara anonim pungli di kelurahan", Action.REPORT, True,
                 id="saya-melaporkan-secara-anonim"),
    pytest.param("gw pengen lapor anonim, kades minta setoran", Action.REPORT, True, id="gw-pengen-lapor-anonim"),
    # our handle or short code between the request and the flag (a mention's "Tolong @lapor1708 ANONIM ...")
    pytest.param("Tolong @lapor1708 ANONIM pungli di loket samsat", Action.REPORT, True, id="tolong-our-handle-anonim"),
    pytest.param("Mohon 1708, anonim: pungli di loket samsat", Action.REPORT, True, id="mohon-our-short-code-anonim"),
    pytest.param("akun @lapor1708 anonim menyebar hoaks", Action.REPORT, False, id="our-handle-in-prose-stays-named"),
    pytest.param("aku mau melaporkan secara anonym pungli di sekolah", Action.REPORT, True, id="misspelt-anonym"),
    pytest.param("sy ingin tetap anonim. Camat minta uang", Action.REPORT, True, id="sy-ingin-tetap-anonim"),
    pytest.param("Tolong laporan ini dianonimkan", Action.REPORT, True, id="laporan-ini-dianonimkan"),
    pytest.param("I want to report this anonymously: the clerk asked for money", Action.REPORT, True,
                 id="i-want-to-report-anonymously"),
    pytest.param("I'd like to remain anonymous. The officer took a bribe", Action.REPORT, True,
                 id="id-like-to-remain-anonymous"),
    pytest.param("Please keep me anonymous, the officer took a bribe", Action.REPORT, True, id="keep-me-anonymous"),
    pytest.param("reporting anonymously: the officer took a bribe", Action.REPORT, True, id="reporting-anonymously"),
    pytest.param(f"{VALID} saya saksi, saya mau anonim saja", Action.FOLLOW_UP, True, id="follow-up-wish"),
    # the words that join a wish to the request before it ("so that", "to", "but")
    pytest.param("Saya minta agar dianonimkan, kades minta setoran", Action.REPORT, True, id="minta-agar-dianonimkan"),
    pytest.param("Saya minta untuk dianonimkan", Action.REPORT, True, id="minta-untuk-dianonimkan"),
    pytest.param("saya mohon supaya anonim. Lurah minta uang", Action.REPORT, True, id="mohon-supaya-anonim"),
    pytest.param("Saya mau lapor, tapi secara anonim ya. Kepala sekolah minta uang", Action.REPORT, True,
                 id="lapor-tapi-secara-anonim"),
    pytest.param("Saya ingin melapor namun secara anonim, camat minta setoran", Action.REPORT, True,
                 id="melapor-namun-secara-anonim"),
    pytest.param("Mohon nama pelapor dirahasiakan, kades minta setoran", Action.REPORT, True,
                 id="nama-pelapor-dirahasiakan"),
    # A request word inside the phrase ("identitas saya mohon dirahasiakan"), and the other verbs citizens ask with:
    # each was a named report, the whistleblower's number at the agency.
    pytest.param("identitas saya mohon dirahasiakan. Kepala desa minta uang 500rb", Action.REPORT, True,
                 id="identitas-saya-mohon-dirahasiakan"),
    pytest.param("Kades minta uang. Identitas pelapor harap dirahasiakan", Action.REPORT, True,
                 id="identitas-pelapor-harap-dirahasiakan"),
    pytest.param("Nama pelapor mohon dirahasiakan. Kepala desa minta uang", Action.REPORT, True,
                 id="nama-pelapor-mohon-dirahasiakan"),
    pytest.param("Kades minta uang. Identitas saya harap dirahasiakan karena saya pegawai di sana", Action.REPORT,
                 True, id="identitas-saya-harap-dirahasiakan-karena"),
    pytest.param("mohon nama saya tidak disebutkan. kepala desa minta uang", Action.REPORT, True,
                 id="nama-saya-tidak-disebutkan"),
    pytest.param("Saya minta nama saya tidak disebutkan, kades minta uang", Action.REPORT, True,
                 id="minta-nama-saya-tidak-disebutkan"),
    pytest.param("Nama saya mohon tidak disebutkan. Kades minta uang", Action.REPORT, True,
                 id="nama-saya-mohon-tidak-disebutkan"),
    pytest.param("mhn nama sy gak disebut, kades minta uang", Action.REPORT, True, id="mhn-nama-sy-gak-disebut"),
    pytest.param("Kades minta uang. Nb: nama saya jangan disebut", Action.REPORT, True, id="nama-saya-jangan-disebut"),
    pytest.param("Saya tidak mau nama saya disebut. Kepala desa minta uang", Action.REPORT, True,
                 id="tidak-mau-nama-saya-disebut"),
    # asked with no object: of the report or its reporter, in doubt a wish
    pytest.param("Mohon dirahasiakan ya pak, kepala desa minta uang", Action.REPORT, True, id="mohon-dirahasiakan"),
    pytest.param("Kepala desa minta uang. Tolong rahasiakan ya", Action.REPORT, True, id="tolong-rahasiakan"),
    pytest.param("jangan bocorkan identitas saya, kepala desa minta uang", Action.REPORT, True,
                 id="jangan-bocorkan-identitas-saya"),
    pytest.param("identitas saya jangan dibuka ya, kepala desa minta uang", Action.REPORT, True,
                 id="identitas-saya-jangan-dibuka"),
    pytest.param("Please do not disclose my name. The village head asked for money.", Action.REPORT, True,
                 id="do-not-disclose-my-name"),
    pytest.param("Keep my name confidential. The village head asked for money.", Action.REPORT, True,
                 id="keep-my-name-confidential"),
    pytest.param(f"{VALID} saya saksi, identitas saya mohon dirahasiakan", Action.FOLLOW_UP, True,
                 id="follow-up-mohon-inside"),
    # A form's name line filled with the wish ("Nama: Anonim", as a structured report opens): a named report.
    pytest.param("Nama: Anonim\nLokasi: Desa Sukamaju\nLaporan: kepala desa minta uang 500rb", Action.REPORT, True,
                 id="form-nama-anonim"),
    pytest.param("Kepala desa minta uang\nNama : ANONIM\nLokasi: Desa Sukamaju", Action.REPORT, True,
                 id="form-nama-anonim-below"),
    pytest.param("Nama: (dirahasiakan)\nIsi: kepala desa minta uang", Action.REPORT, True,
                 id="form-nama-dirahasiakan"),
    pytest.param("Name: anonymous. The village head asked for money", Action.REPORT, True, id="form-name-anonymous"),
    pytest.param("Kades minta uang. Nama: mohon dirahasiakan", Action.REPORT, True, id="form-nama-mohon-dirahasiakan"),
    pytest.param("Nama dirahasiakan. Kades minta uang", Action.REPORT, True, id="form-nama-dirahasiakan-no-colon"),
    # As an SMS shortens the words ("sy", "jgn", "mhn"): each was a named report.
    pytest.param("Kepala desa minta uang 500rb. identitas sy dirahasiakan", Action.REPORT, True, id="identitas-sy"),
    pytest.param("Kepala desa minta uang 500rb. mhn identitas sy dirahasiakan", Action.REPORT, True,
                 id="mhn-identitas-sy"),
    pytest.param("Kades minta uang, tp sy takut ketahuan. rahasiakan nama sy", Action.REPORT, True,
                 id="rahasiakan-nama-sy"),
    pytest.param("Kepala desa minta uang 500rb. nama sy jgn disebut", Action.REPORT, True, id="nama-sy-jgn-disebut"),
    pytest.param("Kepala desa minta uang. tlg jgn sebut nama sy", Action.REPORT, True, id="tlg-jgn-sebut-nama-sy"),
    # Asked as "don't tell my name" or "keep my privacy": each was a named report.
    pytest.param("Kepala desa minta uang 500rb. jangan kasih tau nama saya", Action.REPORT, True,
                 id="jangan-kasih-tau-nama-saya"),
    pytest.param("Kepala desa minta uang 500rb. tolong privasi saya dijaga", Action.REPORT, True,
                 id="privasi-saya-dijaga"),
    pytest.param("Mohon jaga privasi saya. Kepala desa minta uang 500rb", Action.REPORT, True,
                 id="jaga-privasi-saya"),
    # The number asked to be kept secret, the very thing that went: each was a named report.
    pytest.param("Kepala desa minta uang 500rb. rahasiakan nomor saya", Action.REPORT, True,
                 id="rahasiakan-nomor-saya"),
    pytest.param("Kepala desa minta uang 500rb. mohon no hp saya dirahasiakan", Action.REPORT, True,
                 id="no-hp-saya-dirahasiakan"),
    pytest.param("Kepala desa minta uang 500rb. Nama dan nomor saya mohon dirahasiakan", Action.REPORT, True,
                 id="nama-dan-nomor-saya"),
    pytest.param("Kepala desa minta uang 500rb. jangan kasih nomor saya ke kepala desa", Action.REPORT, True,
                 id="jangan-kasih-nomor-saya"),
    pytest.param("Kepala desa minta uang 500rb. data pribadi saya mohon dirahasiakan", Action.REPORT, True,
                 id="data-pribadi-saya"),
    pytest.param("Kepala desa minta uang 500rb. lindungi identitas saya", Action.REPORT, True,
                 id="lindungi-identitas-saya"),
    pytest.param("Kepala desa minta uang 500rb. jangan sebarkan nama saya", Action.REPORT, True,
                 id="jangan-sebarkan-nama-saya"),
    pytest.param("The village head asked for money. Please don't share my name or number", Action.REPORT, True,
                 id="dont-share-my-name"),
    # The flag word after a greeting or a term of address opening the message, or between the kind word and it:
    # each was a named report.
    pytest.param("Selamat pagi, ANONIM. Kepala desa minta uang 500rb", Action.REPORT, True, id="greeting-then-flag"),
    pytest.param("Assalamualaikum, ANONIM: kepala desa minta uang 500rb", Action.REPORT, True,
                 id="salam-then-flag"),
    pytest.param("Halo min, anonim ya. Kepala desa minta uang 500rb", Action.REPORT, True, id="halo-min-anonim"),
    # thanks or praise alone before it, as a greeting
    pytest.param("Terima kasih min, ANONIM: jalan di desa kami rusak parah", Action.REPORT, True,
                 id="thanks-then-flag"),
    pytest.param("Mantap min, anonim ya. Kepala desa minta uang 500rb", Action.REPORT, True, id="praise-then-flag"),
    pytest.param("Makasih, akun anonim menyebar hoaks", Action.REPORT, False, id="thanks-then-prose"),
    # an apology or excuse alone before it, as a greeting (the word forgotten in an earlier message)
    pytest.param("Maaf tadi lupa. ANONIM pungli kantor camat", Action.REPORT, True, id="apology-then-flag"),
    pytest.param("Mohon maaf, ANONIM: pungli kantor camat", Action.REPORT, True, id="mohon-maaf-then-flag"),
    pytest.param("Sorry, anonim ya. pungli kantor camat", Action.REPORT, True, id="sorry-then-flag"),
    pytest.param("Maaf, akun anonim menyebar hoaks", Action.REPORT, False, id="apology-then-prose"),
    # asked as a question ("can I be anonymous?")
    pytest.param("Bisa anonim gak? Saya takut. Kades minta uang 500rb", Action.REPORT, True, id="bisa-anonim-gak"),
    pytest.param("boleh anonim ga min, kades minta uang", Action.REPORT, True, id="boleh-anonim-ga"),
    pytest.param("pungli di kelurahan. bisa anonim? saya takut", Action.REPORT, True, id="bisa-anonim-closing"),
    pytest.param("bisa jadi akun anonim yang menyebar hoaks", Action.REPORT, False, id="bisa-then-prose"),
    pytest.param("Lapor pak (anonim) kepala desa minta uang 500rb", Action.REPORT, True, id="lapor-pak-anonim"),
    pytest.param("Lapor min anonim, kepala desa minta uang 500rb", Action.REPORT, True, id="lapor-min-anonim"),
    # Prose that only comes near: the citizen's, nothing set.
    pytest.param("mayat tanpa nama ditemukan di sungai", Action.REPORT, False, id="tanpa-nama-prose"),
    pytest.param("LAPOR tanpa nama: kades minta uang", Action.REPORT, True, id="lapor-tanpa-nama"),
    # sent without a name, the verb the reporter's: each was a named report
    pytest.param("laporan ini saya kirim tanpa nama, kades jual tanah kas desa", Action.REPORT, True,
                 id="saya-kirim-tanpa-nama"),
    pytest.param("sy kirimkan tanpa nama ya, kades jual tanah kas desa", Action.REPORT, True,
                 id="kirimkan-tanpa-nama"),
    pytest.param("Kades jual tanah kas desa. Saya melaporkan tanpa nama", Action.REPORT, True,
                 id="saya-melaporkan-tanpa-nama"),
    pytest.param("Kades jual tanah kas desa. Laporan ini dikirim tanpa nama.", Action.REPORT, True,
                 id="laporan-ini-dikirim-tanpa-nama"),
    pytest.param("saya lapor tanpa nama, kades jual tanah kas desa", Action.REPORT, True,
                 id="saya-lapor-tanpa-nama"),
    pytest.param("Pelaku mengirim tanpa nama surat ancaman ke kades", Action.REPORT, False,
                 id="someone-else-sent-without-a-name"),
    pytest.param("surat ancaman dikirim tanpa nama ke rumah kades", Action.REPORT, False,
                 id="a-letter-sent-without-a-name"),
    pytest.param("Surat kaleng itu dia kirim tanpa nama", Action.REPORT, False, id="he-sent-without-a-name"),
    pytest.param("teror sms, pelaku kirimkan tanpa nama", Action.REPORT, False, id="the-culprit-sends-without-a-name"),
    pytest.param("Apakah bisa kirim tanpa nama?", Action.REPORT, False, id="asked-whether-one-may"),
    pytest.param("identitasnya dirahasiakannya oleh camat", Action.REPORT, False, id="other-word-forms"),
    pytest.param("jalan rusak di depan SD", Action.REPORT, False, id="no-phrase"),
    # The request word dropped joins no phrase the citizen did not write: someone else's name, said to be used.
    pytest.param("nama saya disebut oleh camat di depan warga", Action.REPORT, False, id="nama-saya-disebut-prose"),
    pytest.param("identitas pelaku mohon diselidiki", Action.REPORT, False, id="identitas-pelaku-prose"),
    pytest.param("Dokumen anggaran desa dirahasiakan oleh kades", Action.REPORT, False, id="dirahasiakan-prose"),
    pytest.param("Saya minta agar kasus ini tidak dirahasiakan", Action.REPORT, False, id="tidak-dirahasiakan-prose"),
    # "not named" asked by no one: a complaint of its own, whose name the agency needs to check the list
    pytest.param("Nama saya tidak disebut dalam daftar penerima bansos padahal saya layak", Action.REPORT, False,
                 id="nama-saya-tidak-disebut-dalam-daftar"),
    pytest.param("nama sy gak disebut di daftar penerima PKH", Action.REPORT, False, id="nama-sy-gak-disebut-prose"),
    pytest.param("Saya mohon penjelasan kenapa nama saya tidak disebutkan di pengumuman CPNS", Action.REPORT, False,
                 id="request-word-far-before-prose"),
    pytest.param("akun bernama anonim menyebar hoaks", Action.REPORT, False, id="bernama-anonim-prose"),
    # a name line's words inside a clause: someone else's name, not the citizen's form
    pytest.param("Pelaku memakai nama anonim untuk menipu warga", Action.REPORT, False, id="memakai-nama-anonim-prose"),
    pytest.param("Seorang oknum guru (nama dirahasiakan) meminta uang seragam", Action.REPORT, False,
                 id="nama-dirahasiakan-in-brackets-prose"),
    pytest.param("nama korban dirahasiakan oleh polisi", Action.REPORT, False, id="nama-korban-dirahasiakan-prose"),
    pytest.param("Selamat pagi, akun anonim menyebar hoaks", Action.REPORT, False, id="greeting-then-prose"),
    pytest.param("privasi saya dilanggar oleh petugas bank", Action.REPORT, False, id="privasi-prose"),
    pytest.param("nomor saya diblokir oleh bank tanpa alasan", Action.REPORT, False, id="nomor-saya-prose"),
    pytest.param("data pribadi saya bocor dari aplikasi pinjol", Action.REPORT, False, id="data-pribadi-prose"),
    pytest.param("Pak RT dapat surat anonim kemarin", Action.REPORT, False, id="address-word-then-prose"),
    pytest.param("An anonymous caller threatens my family", Action.REPORT, False, id="english-prose-at-the-start"),
    pytest.param("surat kaleng itu dikirim secara anonim ke kantor camat", Action.REPORT, False,
                 id="sent-anonymously-prose"),
    # the words the confidentiality phrases read, in the anonymity phrases too
    pytest.param("identitas saya jangan disebarluaskan, kades minta uang", Action.REPORT, True,
                 id="identitas-jangan-disebarluaskan"),
    pytest.param("mohon nama sy gk disebut, kades minta uang", Action.REPORT, True, id="nama-sy-gk-disebut"),
    pytest.param("nama sy gk disebut dalam daftar bansos", Action.REPORT, False, id="nama-sy-gk-disebut-prose"),
    pytest.param("akun anonim menyebar hoaks", Action.REPORT, False, id="akun-anonim"),
    pytest.param("pelaku anonim mengancam warga", Action.REPORT, False, id="pelaku-anonim"),
    pytest.param("Saya melaporkan akun anonim yang menyebar hoaks", Action.REPORT, False,
                 id="first-person-reporting-an-anonymous-account"),
    pytest.param("HP saya diteror nomor anonim tiap malam", Action.REPORT, False, id="first-person-anonymous-caller"),
    pytest.param("I received an anonymous letter threatening my family", Action.REPORT, False,
                 id="english-anonymous-letter"),
    pytest.param("data pasien dianonimkan oleh rumah sakit", Action.REPORT, False, id="dianonimkan-prose"),
    # after a kind word too: read for a status question first ("LAPOR nomor ...?"), its flag word is prose here
    pytest.param("LAPOR nomor anonim meneror saya tiap malam", Action.REPORT, False,
                 id="kind-word-then-anonymous-caller"),
])
def test_anonymity_asked_in_words_makes_the_report_anonymous(text: str, action: Action, anonymous: bool) -> None:
    """"Mohon identitas saya dirahasiakan" with no ANONIM: help's own words turned round, and "Saya ingin melapor
    secara anonim ...": a wish of the citizen's own. Filed named, the whistleblower's number reached the agency. The
    flag is set; the words stay the citizen's text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous) == (action, anonymous)
    assert "dirahasiakan" not in text.lower() or "dirahasiakan" in parsed.text.lower()  # the words kept
    assert all(word in parsed.text for word in text.split() if "anon" in word.lower())


@pytest.mark.parametrize(("text", "action", "anonymous", "confidential"), [
    # Naming the report: each was a public report.
    pytest.param("Mohon laporan ini tidak dipublikasikan. Kades minta uang", Action.REPORT, False, True,
                 id="mohon-laporan-ini-tidak-dipublikasikan"),
    pytest.param("Kades minta uang. Laporan ini mohon tidak disebarkan", Action.REPORT, False, True,
                 id="laporan-ini-mohon-tidak-disebarkan"),
    pytest.param("Kades minta uang 500rb. laporan ini mohon dirahasiakan", Action.REPORT, True, True,
                 id="laporan-ini-mohon-dirahasiakan"),
    pytest.param("Laporan ini mohon dirahasiakan: kades minta uang", Action.REPORT, True, True,
                 id="laporan-read-as-the-kind-word"),
    pytest.param("tolong jangan disebarkan laporan ini, kades minta uang", Action.REPORT, False, True,
                 id="jangan-disebarkan-laporan-ini"),
    pytest.param("Kades minta uang. rahasiakan laporan saya", Action.REPORT, False, True,
                 id="rahasiakan-laporan-saya"),
    pytest.param("Kades minta uang, laporan ini bukan untuk umum", Action.REPORT, False, True,
                 id="laporan-ini-bukan-untuk-umum"),
    pytest.param("Please do not publish this report. The officer took a bribe", Action.REPORT, False, True,
                 id="do-not-publish-this-report"),
    pytest.param("Don't publish this report. The officer took a bribe", Action.REPORT, False, True,
                 id="dont-publish-this-report"),
    pytest.param("keep this report confidential. The officer took a bribe", Action.REPORT, False, True,
                 id="keep-this-report-confidential"),
    pytest.param(f"{VALID} saya saksi, laporan ini jangan dipublikasikan", Action.FOLLOW_UP, False, True,
                 id="follow-up"),
    pytest.param("tolong jangan dipublish laporan saya. kades minta uang", Action.REPORT, False, True,
                 id="jangan-dipublish-laporan-saya"),
    pytest.param("Laporan ini bersifat rahasia, kades minta uang", Action.REPORT, False, True,
                 id="laporan-ini-bersifat-rahasia"),
    # help's "LAPOR RAHASIA <isi>: isi tidak dipublikasikan" turned round
    pytest.param("Mohon isi laporan ini tidak dipublikasikan. Kades minta uang", Action.REPORT, False, True,
                 id="help-s-words-turned-round"),
    # As an SMS shortens the words, and the "di" split from its verb.
    pytest.param("mhn laporan ini tdk dipublikasi. kades minta uang", Action.REPORT, False, True,
                 id="mhn-tdk-dipublikasi"),
    pytest.param("tolong laporan ini jgn di publish ya, kades minta uang", Action.REPORT, False, True,
                 id="jgn-di-publish"),
    pytest.param("Kades minta uang. laporan sy jgn disebar", Action.REPORT, False, True, id="laporan-sy-jgn-disebar"),
    pytest.param("identitas sy di rahasiakan. kades minta uang", Action.REPORT, True, False,
                 id="anonymity-phrase-di-split-too"),
    pytest.param("mhn lpran ini jgn dipublikasikan. kades minta uang", Action.REPORT, False, True, id="lpran"),
    pytest.param("bs dirahasiakan gk? kades minta uang", Action.REPORT, False, True, id="bs-dirahasiakan-gk"),
    pytest.param("Kades minta uang. mohon laporan saya tidak disebarluaskan", Action.REPORT, False, True,
                 id="tidak-disebarluaskan"),
    pytest.param("jangan dishare ya min, kades minta uang", Action.REPORT, False, True, id="jangan-dishare"),
    pytest.param("Kades minta uang. Mohon tidak diviralkan", Action.REPORT, False, True, id="mohon-tidak-diviralkan"),
    pytest.param("mohon pengaduan ini dirahasiakan. kades minta uang", Action.REPORT, False, True,
                 id="pengaduan-ini"),
    pytest.param("Aduan ini mohon tidak dipublikasikan: kades minta uang", Action.REPORT, False, True,
                 id="aduan-read-as-the-kind-word"),
    pytest.param("Kades minta uang. laporannya jangan dipublikasikan ya", Action.REPORT, False, True,
                 id="laporannya-jangan-dipublikasikan"),
    pytest.param("Kades minta uang. mohon laporannya dirahasiakan", Action.REPORT, False, True,
                 id="mohon-laporannya-dirahasiakan"),
    pytest.param("Please don't publish this. The officer took a bribe", Action.REPORT, False, True,
                 id="dont-publish-this"),
    pytest.param("please keep this confidential. The officer took a bribe", Action.REPORT, False, True,
                 id="keep-this-confidential"),
    pytest.param("Please keep my report private. The officer took a bribe", Action.REPORT, False, True,
                 id="keep-my-report-private"),
    # Of no object, as a clause of its own: asked of us.
    pytest.param("jangan dipublikasikan ya min, kades minta uang", Action.REPORT, False, True,
                 id="jangan-dipublikasikan-ya-min"),
    pytest.param("jgn di publish ya min, kades minta uang", Action.REPORT, False, True, id="jgn-di-publish-ya-min"),
    pytest.param("Kades minta uang. Tolong jangan disebarkan.", Action.REPORT, False, True,
                 id="tolong-jangan-disebarkan"),
    pytest.param("Pak mohon jangan dipublikasikan dulu ya. Kades minta uang", Action.REPORT, False, True,
                 id="mohon-jangan-dipublikasikan-dulu"),
    pytest.param("Kades minta uang. Mohon tidak dipublikasikan", Action.REPORT, False, True,
                 id="mohon-tidak-dipublikasikan"),
    pytest.param("please don't publish it, the officer took a bribe", Action.REPORT, False, True,
                 id="please-dont-publish-it"),
    # Softened.
    pytest.param("kalau bisa jangan dipublikasikan ya min. kades minta uang", Action.REPORT, False, True,
                 id="kalau-bisa"),
    pytest.param("Kades minta uang. Sebaiknya jangan disebarkan dulu", Action.REPORT, False, True, id="sebaiknya"),
    pytest.param("Kades minta uang. Tapi jangan disebarkan dulu ya", Action.REPORT, False, True, id="tapi"),
    pytest.param("Kades bilang boleh lapor tapi jangan disebarkan", Action.REPORT, False, False, id="tapi-prose"),
    pytest.param("Kalau tidak dipublikasikan, percuma. Kades minta uang", Action.REPORT, False, False,
                 id="kalau-tidak-dipublikasikan-prose"),
    # Our handle or short code around it, as a mention or a comment puts it.
    pytest.param("kades minta uang. mohon dirahasiakan @lapor1708", Action.REPORT, True, True, id="handle-after"),
    pytest.param("Tolong @lapor1708 jangan dipublikasikan, kades minta uang", Action.REPORT, False, True,
                 id="handle-inside"),
    pytest.param("kades minta uang, jangan dipublikasikan ya 1708", Action.REPORT, False, True, id="short-code-after"),
    # Thanks closing it, typed without a stop.
    pytest.param("Kades minta uang. jangan dipublikasikan ya min makasih", Action.REPORT, False, True,
                 id="thanks-after-it"),
    pytest.param("Kades minta uang. mohon dirahasiakan ya pak terima kasih", Action.REPORT, True, True,
                 id="thanks-after-it-asked"),
    # "Mohon dirahasiakan" (anonymous before, of the report or its reporter) is confidential too; "bisa
    # dirahasiakan?" is confidential, its anonymity as before.
    pytest.param("Mohon dirahasiakan ya pak, kepala desa minta uang", Action.REPORT, True, True,
                 id="mohon-dirahasiakan"),
    pytest.param("Kepala desa minta uang. Tolong rahasiakan ya", Action.REPORT, True, True, id="tolong-rahasiakan"),
    pytest.param("bisa dirahasiakan? kepala desa minta uang", Action.REPORT, False, True, id="bisa-dirahasiakan"),
    pytest.param("kepala desa minta uang. bisa dirahasiakan gak min?", Action.REPORT, False, True,
                 id="bisa-dirahasiakan-gak-min"),
    # Someone else's thing, or secrecy asked of the reporter's name alone: nothing new set.
    pytest.param("dana desa tidak dipublikasikan oleh kepala desa", Action.REPORT, False, False,
                 id="dana-desa-tidak-dipublikasikan-prose"),
    pytest.param("anggaran dirahasiakan pejabat", Action.REPORT, False, False, id="anggaran-dirahasiakan-prose"),
    pytest.param("jangan disebarkan hoaks itu, pak", Action.REPORT, False, False, id="jangan-disebarkan-hoaks"),
    pytest.param("tolong jangan disebarkan hoaks tentang desa kami", Action.REPORT, False, False,
                 id="tolong-jangan-disebarkan-hoaks"),
    pytest.param("hoaks itu jangan disebarkan.", Action.REPORT, False, False, id="hoaks-itu-jangan-disebarkan"),
    pytest.param("pejabat bilang data ini jangan dipublikasikan.", Action.REPORT, False, False,
                 id="someone-elses-request"),
    # Someone else's words, quoted or said in the clause before or after.
    pytest.param('Kades bilang, "jangan disebarkan." Padahal itu dana desa', Action.REPORT, False, False,
                 id="quoted"),
    pytest.param('"Jangan dipublikasikan," kata camat. Padahal anggaran itu milik publik', Action.REPORT, False,
                 False, id="quoted-said-after"),
    pytest.param("Kades bilang, jangan disebarkan. Padahal itu dana desa", Action.REPORT, False, False,
                 id="said-before"),
    pytest.param("Jangan disebarkan, kata kades waktu rapat. Dana desa dipotong", Action.REPORT, False, False,
                 id="said-after"),
    pytest.param("jangan dipublikasikan. itu kata kades waktu kami protes", Action.REPORT, False, False,
                 id="itu-kata"),
    pytest.param("Keep it private, he said. The officer took a bribe", Action.REPORT, False, False,
                 id="he-said"),
    pytest.param('"Kades minta uang 500rb. Jangan dipublikasikan ya min"', Action.REPORT, False, True,
                 id="the-whole-message-quoted"),
    pytest.param("Saya minta, jangan dipublikasikan. Kades minta uang", Action.REPORT, False, True,
                 id="own-request-after-a-clause"),
    pytest.param("Jangan dipublikasikan ya min, katanya pelapor bisa dipecat", Action.REPORT, False, True,
                 id="katanya-after-it"),
    pytest.param("Kepala desa minta dirahasiakan soal dana itu", Action.REPORT, True, False,
                 id="someone-else-asks-in-a-clause"),
    pytest.param("laporan saya tidak dipublikasikan di situs, padahal sudah sebulan", Action.REPORT, False, False,
                 id="laporan-saya-tidak-dipublikasikan-prose"),
    pytest.param("Kenapa laporan ini tidak dipublikasikan?", Action.REPORT, False, False,
                 id="asks-why-not-published"),
    pytest.param("isi laporan dirahasiakan oleh dinas, saya kecewa", Action.REPORT, False, False,
                 id="someone-elses-report-kept-secret"),
    pytest.param("laporannya dirahasiakan oleh dinas, saya kecewa", Action.REPORT, False, False,
                 id="laporannya-dirahasiakan-prose"),
    pytest.param("Mohon diviralkan, kades minta uang", Action.REPORT, False, False, id="mohon-diviralkan"),
    pytest.param("Kalau tidak diviralkan, tidak akan ditindak", Action.REPORT, False, False,
                 id="kalau-tidak-diviralkan"),
    pytest.param("isi laporan ini tidak dipublikasikan oleh dinas", Action.REPORT, False, False,
                 id="isi-laporan-tidak-dipublikasikan-prose"),
    pytest.param("Saya minta agar kasus ini tidak dirahasiakan", Action.REPORT, False, False,
                 id="tidak-dirahasiakan-prose"),
    # A phrase asked the other way round: the report asked public.
    pytest.param("Jangan rahasiakan laporan ini, biar semua tahu kades korupsi", Action.REPORT, False, False,
                 id="jangan-rahasiakan-laporan-ini"),
    pytest.param("mohon jgn dirahasiakan laporan sy, kades harus dihukum", Action.REPORT, False, False,
                 id="jangan-dirahasiakan-laporan-saya"),
    pytest.param("Saya tidak mau laporan ini dirahasiakan. Kades minta uang", Action.REPORT, False, False,
                 id="tidak-mau-laporan-ini-dirahasiakan"),
    pytest.param("Kades minta uang. jangan rahasiakan laporan ini. rahasiakan laporan saya", Action.REPORT, False,
                 True, id="negated-once-asked-once"),
    pytest.param("Dirahasiakan. Begitu jawaban camat soal anggaran", Action.REPORT, False, False,
                 id="dirahasiakan-alone-prose"),
    pytest.param("identitas saya mohon dirahasiakan. Kepala desa minta uang", Action.REPORT, True, False,
                 id="identity-only"),
    pytest.param("Mohon dirahasiakan identitas pelapor", Action.REPORT, True, False, id="identity-object-after"),
    pytest.param("The report was not published by the ministry", Action.REPORT, False, False,
                 id="english-prose"),
    # A mail's confidentiality notice is no request of the citizen's (every mail of a company's staff went
    # confidential); one written before the notice still is.
    pytest.param("Jalan rusak parah sejak Januari.\n\nSalam,\nBudi\n\nEmail ini bersifat rahasia dan hanya ditujukan "
                 "untuk penerima. Jangan disebarkan.", Action.REPORT, False, False, id="mail-notice-id"),
    pytest.param("Jalan rusak di RT 3.\n\nCONFIDENTIALITY NOTICE: This email is confidential. If you are not the "
                 "intended recipient, do not share it. Do not publish, copy or distribute.", Action.REPORT, False,
                 False, id="mail-notice-en"),
    pytest.param("Kades minta uang. Jangan disebarkan ya min.\n\nDisclaimer: this e-mail is intended only for the "
                 "addressee.", Action.REPORT, False, True, id="the-citizens-request-before-a-notice"),
    # The citizen's own words that a notice may hold too are no notice: read as one, their request after it was lost.
    pytest.param("Kades minta uang. Mohon informasi ini hanya ditujukan untuk petugas, jangan disebarkan",
                 Action.REPORT, False, True, id="hanya-ditujukan-untuk-petugas"),
    pytest.param("Saya bukan penerima bansos padahal miskin. Jangan disebarkan ya min", Action.REPORT, False, True,
                 id="bukan-penerima-bansos"),
    pytest.param("Disclaimer: saya bukan pelaku. Kades minta setoran. Jangan disebarkan ya pak", Action.REPORT, False,
                 True, id="the-citizens-disclaimer"),
    # An apology or excuse alone before the confidentiality word opening the message, as before ANONIM (the word
    # forgotten in an earlier message): each went public. Another word among them keeps it the citizen's prose.
    pytest.param("Maaf tadi lupa. RAHASIA pungli kantor camat", Action.REPORT, False, True, id="apology-then-rahasia"),
    pytest.param("Maaf min, rahasia ya. pungli kantor camat", Action.REPORT, False, True,
                 id="apology-and-a-call-then-rahasia"),
    pytest.param("Sorry, confidential: the clerk asked for a bribe", Action.REPORT, False, True,
                 id="sorry-then-confidential"),
    pytest.param("Maaf tadi lupa. RAHASIA & ANONIM pungli kantor camat", Action.REPORT, True, True,
                 id="apology-then-rahasia-and-anonim"),
    pytest.param("Maaf tadi lupa. ANONIM RAHASIA pungli kantor camat", Action.REPORT, True, True,
                 id="apology-then-anonim-and-rahasia"),
    pytest.param("Maaf, ini bukan rahasia lagi, kades korupsi", Action.REPORT, False, False,
                 id="apology-then-prose-negated"),
    pytest.param("Maaf, dokumen rahasia desa bocor ke warga", Action.REPORT, False, False,
                 id="apology-then-prose-noun"),
    pytest.param("Kades bilang maaf, rahasia desa bocor", Action.REPORT, False, False, id="apology-inside-prose"),
])
def test_confidentiality_asked_in_words_makes_the_report_confidential(text: str, action: Action, anonymous: bool,
                                                                      confidential: bool) -> None:
    """"Mohon laporan ini tidak dipublikasikan", "jangan dipublikasikan ya min", "Please do not publish this report"
    with no RAHASIA: the whistleblower asked their report kept from the public, and it went public. Only words that
    address the report or us count; the same verbs of someone else's thing are prose. The words stay the text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.confidential) == (action, anonymous, confidential)
    assert parsed.text == re.sub(rf"^(?:{VALID}|laporan|aduan) ", "", text, flags=re.IGNORECASE)  # the words kept


@pytest.mark.parametrize(("channel", "text", "subject", "anonymous"), [
    pytest.param(Channel.SMS, "jgn di publish ya min, kades minta uang 500rb", None, False, id="sms"),
    pytest.param(Channel.SMS, "Mohon dirahasiakan ya pak, kades minta uang 500rb", None, True, id="sms-both"),
    pytest.param(Channel.TWITTER, "kades minta uang 500rb. Mohon laporan ini tidak dipublikasikan", None, False,
                 id="mention"),
    pytest.param(Channel.EMAIL, "Kepala desa minta uang 500rb.\n\nMohon laporan ini tidak dipublikasikan.\n\nBudi",
                 "Pungli di desa", False, id="mail"),
])
def test_confidentiality_asked_in_words_reaches_the_envelope(channel: Channel, text: str, subject: str | None,
                                                             anonymous: bool) -> None:
    """Through the normalizer, the envelope the case store gets is confidential, its text the citizen's words."""
    kind, address = {Channel.SMS: (SenderKind.MSISDN, "+6281234567890"), Channel.TWITTER: (SenderKind.X_USER, "123"),
                     Channel.EMAIL: (SenderKind.EMAIL, "budi@example.net")}[channel]
    normalized = normalize(InboundMessage(
        channel=channel, source="table", provider_message_id="M1", sender_kind=kind, sender_address=address,
        text=text, subject=subject, received_at=datetime(2026, 11, 22, tzinfo=UTC)))
    assert normalized.draft is not None
    envelope = json.loads(normalized.draft.envelope_json(VALID))
    assert (envelope["confidential"], envelope["anonymous"], envelope["text"]) == (True, anonymous, text)


@pytest.mark.parametrize(("text", "action", "confidential"), [
    # Opening the text: it went public (closing it, its flag word at the end was read).
    pytest.param("Laporan ini rahasia. Pungli di kelurahan loket 3", Action.REPORT, True, id="laporan-ini-opening"),
    pytest.param("Ini rahasia. Pungli di loket 3", Action.REPORT, True, id="ini-rahasia-opening"),
    pytest.param("Ini sifatnya rahasia. Pungli di loket 3", Action.REPORT, True, id="ini-sifatnya-opening"),
    pytest.param("This is confidential. Officials at the district office ask for bribes", Action.REPORT, True,
                 id="this-is-confidential-opening"),
    pytest.param("Laporan saya rahasia. Pungli di loket 3", Action.REPORT, True, id="kind-word-as-the-subject"),
    pytest.param("Pengaduan saya rahasia ya pak. Pungli di loket 3", Action.REPORT, True,
                 id="pengaduan-as-the-subject"),
    pytest.param("Pak, ini sangat rahasia. Pungli di loket 3", Action.REPORT, True, id="sangat-rahasia"),
    pytest.param("Mohon, laporan ini rahasia. Kades minta uang", Action.REPORT, True, id="after-a-request-word"),
    pytest.param("lpran ini rahasia. kades minta uang", Action.REPORT, True, id="shortened"),
    pytest.param("INI RAHASIA!!! Pungli di loket 3", Action.REPORT, True, id="shouted"),
    pytest.param("ini rahasia\npungli di loket 3", Action.REPORT, True, id="a-line-of-its-own"),
    pytest.param("Laporan ini rahasia: pungli di loket 3", Action.REPORT, True, id="before-a-colon"),
    pytest.param("Laporan ini harus rahasia ya pak. Kades minta uang", Action.REPORT, True, id="harus-rahasia"),
    pytest.param("It's confidential. The clerk takes bribes", Action.REPORT, True, id="its-confidential"),
    pytest.param("This is strictly confidential. The clerk takes bribes", Action.REPORT, True,
                 id="strictly-confidential"),
    pytest.param("This is a secret, the clerk takes bribes", Action.REPORT, True, id="this-is-a-secret"),
    pytest.param(f"{VALID} ini rahasia. kades masih minta uang", Action.FOLLOW_UP, True, id="follow-up"),
    # In the middle.
    pytest.param("Pungli di loket 3. Ini rahasia ya pak. Terjadi tiap hari", Action.REPORT, True,
                 id="ini-rahasia-ya-pak-middle"),
    pytest.param("Pungli di loket 3. Ini sifatnya rahasia. Terjadi tiap hari", Action.REPORT, True,
                 id="ini-sifatnya-middle"),
    pytest.param("Pungli di loket 3. Laporan ini sangat rahasia. Terjadi tiap hari", Action.REPORT, True,
                 id="laporan-ini-sangat-middle"),
    pytest.param("Pungli di loket 3. Rahasia ya min. Terjadi tiap hari", Action.REPORT, True,
                 id="the-flag-word-alone-middle"),
    pytest.param("Pungli di loket 3, ini rahasia, terjadi tiap hari", Action.REPORT, True, id="between-commas"),
    pytest.param("Officials ask for bribes. This is confidential. It happens every day", Action.REPORT, True,
                 id="this-is-confidential-middle"),
    pytest.param("Pungli di loket 3. It is secret. It happens daily", Action.REPORT, True, id="it-is-secret-middle"),
    # Prose about something else: the flag word with other words, negated, someone else's, a mail's notice.
    pytest.param("Dokumen ini rahasia negara, pejabat menjualnya", Action.REPORT, False, id="rahasia-negara"),
    pytest.param("Ini rahasia umum, semua orang tahu pungli di loket 3", Action.REPORT, False, id="rahasia-umum"),
    pytest.param("Pungli di loket 3. Rahasia dagang perusahaan dibocorkan pejabat", Action.REPORT, False,
                 id="rahasia-dagang"),
    pytest.param("Ini bukan rahasia lagi, pungli di loket 3", Action.REPORT, False, id="bukan-rahasia-lagi"),
    pytest.param("It is no secret that the clerk takes bribes", Action.REPORT, False, id="no-secret"),
    pytest.param("Laporan ini tidak rahasia, silakan dipublikasikan", Action.REPORT, False, id="tidak-rahasia"),
    pytest.param("This is not confidential. The clerk takes bribes", Action.REPORT, False, id="not-confidential"),
    pytest.param("This is private property. The guard asks for money", Action.REPORT, False, id="private-property"),
    pytest.param("Pejabat itu menyimpan rahasia. Pungli di loket 3", Action.REPORT, False, id="menyimpan-rahasia"),
    pytest.param("Apa ini rahasia negara? Pungli di loket", Action.REPORT, False, id="asks-of-something-else"),
    pytest.param("Ini rahasia kita berdua, kata kades", Action.REPORT, False, id="rahasia-kita"),
    pytest.param("Kades bilang, ini rahasia. Padahal dana desa dipotong", Action.REPORT, False, id="said-before"),
    pytest.param("Ini rahasia, kata kades. Pungli di loket 3", Action.REPORT, False, id="said-after"),
    pytest.param("Kades bilang: ini rahasia. Padahal dana desa dipotong", Action.REPORT, False,
                 id="said-before-a-colon"),
    pytest.param('"Ini rahasia," kata kades. Pungli di loket 3', Action.REPORT, False, id="quoted"),
    pytest.param("Jalan rusak.\n\nThis is confidential. If you are not the intended recipient, do not copy it.",
                 Action.REPORT, False, id="mail-notice"),
])
def test_a_clause_stating_the_report_secret_makes_it_confidential_anywhere(text: str, action: Action,
                                                                           confidential: bool) -> None:
    """"Laporan ini rahasia. Pungli di ...", "Pungli ... Ini rahasia ya pak. Terjadi ...", "This is confidential. ...":
    a clause that only states the report is secret (`[flags_in_words] confidential_statements`) was read closing the
    text and went public opening it or in the middle. The same word with other words, negated, said by someone else or
    in a mail's notice is prose and sets nothing. The words stay the text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.confidential) == (action, False, confidential)
    assert parsed.text == re.sub(rf"^(?:{VALID}|laporan|pengaduan) ", "", text, flags=re.IGNORECASE)


@pytest.mark.parametrize(("text", "action", "anonymous"), [
    # Opening the text: the whistleblower's number reached the agency.
    pytest.param("Laporan ini anonim. Pungli di loket 3", Action.REPORT, True, id="laporan-ini-opening"),
    pytest.param("Ini anonim. Pungli di loket 3", Action.REPORT, True, id="ini-anonim-opening"),
    pytest.param("Laporan ini bersifat anonim. Pungli di loket 3", Action.REPORT, True, id="bersifat-opening"),
    pytest.param("Laporan ini anonim ya pak. Pungli di loket 3", Action.REPORT, True, id="ya-pak-opening"),
    pytest.param("Ini anonim, pungli di loket 3", Action.REPORT, True, id="before-a-comma"),
    pytest.param("Laporan ini anonim: pungli di loket 3", Action.REPORT, True, id="before-a-colon"),
    pytest.param("Laporan ini dikirim secara anonim. Pungli di loket 3", Action.REPORT, True,
                 id="dikirim-secara-anonim"),
    pytest.param("Ini tetap anonim ya min. Pungli di loket 3", Action.REPORT, True, id="tetap-anonim"),
    pytest.param("lpran ini anonim. kades minta uang", Action.REPORT, True, id="shortened"),
    pytest.param("LAPOR Laporan ini anonim. Pungli di loket 3", Action.REPORT, True, id="after-a-kind-word"),
    pytest.param("This is anonymous. The clerk takes bribes", Action.REPORT, True, id="this-is-anonymous-opening"),
    pytest.param("This report is anonymous. The clerk takes bribes", Action.REPORT, True,
                 id="this-report-is-anonymous-opening"),
    pytest.param("This report is submitted anonymously. The clerk takes bribes", Action.REPORT, True,
                 id="submitted-anonymously"),
    pytest.param(f"{VALID} ini anonim. kades masih minta uang", Action.FOLLOW_UP, True, id="follow-up"),
    # In the middle.
    pytest.param("Pungli di loket 3. Ini anonim ya pak. Terjadi tiap hari", Action.REPORT, True,
                 id="ini-anonim-ya-pak-middle"),
    pytest.param("Pungli di loket 3. Laporan ini anonim. Terjadi tiap hari", Action.REPORT, True,
                 id="laporan-ini-middle"),
    pytest.param("Pungli di loket 3. Laporan ini bersifat anonim. Terjadi tiap hari", Action.REPORT, True,
                 id="bersifat-middle"),
    pytest.param("Pungli di loket 3, ini anonim, terjadi tiap hari", Action.REPORT, True, id="between-commas"),
    pytest.param("The clerk takes bribes. This report is anonymous. It happens every day", Action.REPORT, True,
                 id="this-report-is-anonymous-middle"),
    # Prose about someone else: the word with other words, negated, someone else's words.
    pytest.param("Akun anonim menyebar hoaks di grup desa", Action.REPORT, False, id="akun-anonim"),
    pytest.param("Surat anonim dikirim ke kepala desa", Action.REPORT, False, id="surat-anonim"),
    pytest.param("Penelepon anonim mengancam warga", Action.REPORT, False, id="penelepon-anonim"),
    pytest.param("An anonymous caller threatened the clerk", Action.REPORT, False, id="anonymous-caller"),
    pytest.param("Ini bukan surat anonim. Pungli di loket 3", Action.REPORT, False, id="bukan-surat-anonim"),
    pytest.param("Ini bukan anonim. Pungli di loket 3", Action.REPORT, False, id="bukan-anonim"),
    pytest.param("Surat ini dikirim secara anonim. Isinya fitnah", Action.REPORT, False, id="surat-ini"),
    pytest.param("Kades bilang, ini anonim. Pungli di loket 3", Action.REPORT, False, id="said-before"),
    pytest.param("Ini anonim, kata kades. Pungli di loket 3", Action.REPORT, False, id="said-after"),
    pytest.param('"Ini anonim," kata kades. Pungli di loket 3', Action.REPORT, False, id="quoted"),
    pytest.param("It is anonymous, he said. The clerk takes bribes", Action.REPORT, False, id="he-said"),
])
def test_a_clause_stating_the_report_anonymous_makes_it_anonymous_anywhere(text: str, action: Action,
                                                                           anonymous: bool) -> None:
    """"Laporan ini anonim. Pungli di ...", "Pungli ... Ini anonim ya pak. Terjadi ...", "This is anonymous. ...": a
    clause that only states the report is anonymous, read as a statement of secrecy is (an anonymity word for the
    secrecy word), was read closing the text and sent the whistleblower's number opening it or in the middle. The same
    word with other words, negated or said by someone else is prose and sets nothing. The words stay the text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.confidential) == (action, anonymous, False)
    assert parsed.text == re.sub(rf"^(?:{VALID}|laporan|pengaduan|lapor) ", "", text, flags=re.IGNORECASE)


@pytest.mark.parametrize("text", [
    # Closing the text, and the words before it someone asking ("Saya anonim", "Pelapor anonim"), read before.
    "Pungli di loket 3. Anonim", "Pungli di loket 3, laporan ini anonim", "Saya anonim. Pungli di loket 3",
    "Anonim ya min. pungli di loket 3", "Pelapor anonim. Pungli di loket 3", "Laporan saya anonim: pungli di loket 3",
    "Pungli di loket 3. Laporan saya anonim. Terjadi tiap hari",
])
def test_a_statement_of_anonymity_read_before_stays_anonymous(text: str) -> None:
    """The readings a clause stating the report anonymous joins: each made the report anonymous before and still
    does."""
    assert parse_text(text).anonymous


@pytest.mark.parametrize(("text", "action", "anonymous"), [
    # Opening the text: the whistleblower's number reached the agency.
    pytest.param("Identitas saya rahasia. Pungli di loket 3", Action.REPORT, True, id="identitas-saya-opening"),
    pytest.param("Nama saya rahasia ya pak. pungli di loket 3", Action.REPORT, True, id="nama-saya-ya-pak-opening"),
    pytest.param("Identitas pelapor rahasia: pungli di loket 3", Action.REPORT, True, id="identitas-pelapor-colon"),
    pytest.param("Nomor saya rahasia. pungli di loket 3", Action.REPORT, True, id="nomor-saya-opening"),
    pytest.param("identitas sy rahasia ya min. pungli di loket 3", Action.REPORT, True, id="shortened"),
    pytest.param("Identitas saya harus rahasia. Pungli di loket 3", Action.REPORT, True, id="harus-rahasia"),
    pytest.param("Nomor hp saya disembunyikan ya. Pungli di loket 3", Action.REPORT, True, id="disembunyikan"),
    pytest.param("WBS identitas saya rahasia. kepala dinas minta setoran", Action.REPORT, True,
                 id="after-a-kind-word"),
    pytest.param("Identitas saya rahasia dan anonim. Pungli di loket 3", Action.REPORT, True, id="joined-anonim"),
    pytest.param("Nama dan nomor saya rahasia ya pak. Pungli di loket 3", Action.REPORT, True, id="nama-dan-nomor"),
    pytest.param("My identity is secret. The clerk takes bribes", Action.REPORT, True, id="my-identity-opening"),
    pytest.param("My name is confidential. The clerk takes bribes", Action.REPORT, True, id="my-name-opening"),
    pytest.param("My name is withheld. The clerk takes bribes", Action.REPORT, True, id="my-name-withheld"),
    pytest.param(f"{VALID} identitas saya rahasia. kades masih minta uang", Action.FOLLOW_UP, True, id="follow-up"),
    # In the middle.
    pytest.param("Pungli di loket 3. Identitas saya rahasia. Terjadi tiap hari", Action.REPORT, True,
                 id="identitas-saya-middle"),
    pytest.param("Pungli di loket 3. Nama saya rahasia ya pak. Terjadi tiap hari", Action.REPORT, True,
                 id="nama-saya-middle"),
    pytest.param("Pungli di loket 3, nomor saya rahasia, terjadi tiap hari", Action.REPORT, True,
                 id="between-commas"),
    pytest.param("The clerk takes bribes. My name is confidential. It happens every day", Action.REPORT, True,
                 id="my-name-middle"),
    # Closing the text: the secrecy word at the end made it confidential, never anonymous.
    pytest.param("Pungli di loket 3. Identitas saya rahasia", Action.REPORT, True, id="identitas-saya-closing"),
    pytest.param("Pungli di loket 3. Nomor saya rahasia.", Action.REPORT, True, id="nomor-saya-closing"),
    pytest.param("The clerk takes bribes. My identity is secret.", Action.REPORT, True, id="my-identity-closing"),
    # Anyone else's identity, negated, someone else's words: prose.
    pytest.param("Identitas pelaku rahasia, tidak ada yang tahu", Action.REPORT, False, id="identitas-pelaku"),
    pytest.param("Nama pejabat itu dirahasiakan media", Action.REPORT, False, id="nama-pejabat"),
    pytest.param("The identity of the official is secret", Action.REPORT, False, id="identity-of-the-official"),
    pytest.param("Nama saya Budi. Pungli di loket 3", Action.REPORT, False, id="a-name-given"),
    pytest.param("Identitas saya bukan rahasia. Pungli di loket 3", Action.REPORT, False, id="bukan-rahasia"),
    pytest.param("Nama saya rahasia, kata dia. Pungli di loket 3", Action.REPORT, False, id="said-after"),
    pytest.param("My identity is secret, he said. The clerk takes bribes", Action.REPORT, False, id="he-said"),
])
def test_a_clause_stating_the_reporters_identity_secret_makes_it_anonymous_anywhere(text: str, action: Action,
                                                                                    anonymous: bool) -> None:
    """"Identitas saya rahasia. Pungli di ...", "Nama saya rahasia ya pak.", "My identity is secret. ...": the
    reporter's identity stated secret in a clause of its own (`identity_statement_subjects`) set no flag, or only
    `confidential` closing the text, and the whistleblower's number reached the agency. Anyone else's identity, the
    word negated or said by someone else is prose and stays named. The words stay the text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous) == (action, anonymous)
    assert parsed.text == re.sub(rf"^(?:{VALID}|wbs) ", "", text, flags=re.IGNORECASE)


@pytest.mark.parametrize("text", [
    # A phrase of `[flags_in_words]` anonymous already, anywhere.
    "Identitas saya dirahasiakan ya. Pungli di loket 3", "Pungli di loket 3. Identitas saya dirahasiakan ya. Tiap hari",
    "Pungli di loket 3. Identitas saya dirahasiakan ya",
])
def test_an_identity_asked_secret_read_before_stays_anonymous(text: str) -> None:
    """The phrase an identity stated secret joins: it made the report anonymous before and still does."""
    parsed = parse_text(text)
    assert (parsed.anonymous, parsed.text) == (True, text)


@pytest.mark.parametrize(("text", "action", "flags"), [
    pytest.param("Laporan ini rahasia dan anonim. Pungli di loket 3", Action.REPORT, (True, True),
                 id="rahasia-dan-anonim-opening"),
    pytest.param("Ini anonim dan rahasia ya pak. Pungli di loket 3", Action.REPORT, (True, True),
                 id="anonim-dan-rahasia-opening"),
    pytest.param("This report is anonymous and confidential. The clerk takes bribes", Action.REPORT, (True, True),
                 id="anonymous-and-confidential"),
    pytest.param("Laporan ini dikirim secara anonim dan rahasia. Pungli di loket 3", Action.REPORT, (True, True),
                 id="dikirim-secara"),
    pytest.param("Ini rahasia dan juga anonim ya. Pungli di loket 3", Action.REPORT, (True, True), id="dan-juga"),
    pytest.param("Pungli di loket 3. Laporan ini rahasia dan anonim. Terjadi tiap hari", Action.REPORT, (True, True),
                 id="rahasia-dan-anonim-middle"),
    pytest.param("Pungli di loket 3. Rahasia & anonim ya pak. Terjadi tiap hari", Action.REPORT, (True, True),
                 id="ampersand-middle"),
    pytest.param(f"{VALID} ini anonim dan rahasia. kades masih minta uang", Action.FOLLOW_UP, (True, True),
                 id="follow-up"),
    # Prose: of something else, negated, someone else's words, a join word alone.
    pytest.param("Dokumen ini rahasia dan anonim. Pungli di loket 3", Action.REPORT, (False, False), id="dokumen-ini"),
    pytest.param("Surat ini anonim dan rahasia. Isinya fitnah", Action.REPORT, (False, False), id="surat-ini"),
    pytest.param("Ini bukan rahasia dan anonim. Pungli di loket 3", Action.REPORT, (False, False), id="bukan"),
    pytest.param("Kades bilang, ini rahasia dan anonim. Pungli di loket 3", Action.REPORT, (False, False),
                 id="said-before"),
    pytest.param("Ini dan rahasia. Pungli di loket 3", Action.REPORT, (False, False), id="join-word-before"),
])
def test_two_statement_words_joined_state_both(text: str, action: Action, flags: tuple[bool, bool]) -> None:
    """"Laporan ini rahasia dan anonim. Pungli ...", "This report is anonymous and confidential.": a clause stating the
    report both secret and anonymous (`statement_joins`) set neither flag. The words stay the text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.confidential) == (action, *flags)
    assert parsed.text == re.sub(rf"^(?:{VALID}|laporan) ", "", text, flags=re.IGNORECASE)


@pytest.mark.parametrize(("text", "flags"), [
    # As an SMS types them: the secrecy word shortened or in Jakarta's "-in", "ya" shortened, "banget", a particle.
    pytest.param("identitas sy rhs. pungli di loket 3", (True, False), id="identity-rhs"),
    pytest.param("ini rhs ya. pungli di loket 3", (False, True), id="ini-rhs"),
    pytest.param("nama sy dirahasiain ya. pungli di loket 3", (True, False), id="dirahasiain"),
    pytest.param("Ini rahasia y pak. pungli di loket 3", (False, True), id="y-pak"),
    pytest.param("Ini rahasia banget. pungli di loket 3", (False, True), id="banget"),
    pytest.param("Identitas saya rahasia loh. pungli di loket 3", (True, False), id="loh"),
    pytest.param("Nama gw rahasia ya min. pungli di loket 3", (True, False), id="gw"),
    pytest.param("identitas aku dirahasiakan ya. pungli di loket 3", (True, False), id="aku"),
    pytest.param("idntitas sy rahsia. pungli di loket 3", (True, False), id="typos"),
    # The report named as what it is, a "must", a "stays".
    pytest.param("Ini laporan rahasia. pungli di loket 3", (False, True), id="ini-laporan-rahasia"),
    pytest.param("Ini pengaduan anonim. pungli di loket 3", (True, False), id="ini-pengaduan-anonim"),
    pytest.param("Ini adalah laporan anonim. pungli di loket 3", (True, False), id="ini-adalah-laporan-anonim"),
    pytest.param("This is an anonymous report. The clerk takes bribes", (True, False), id="an-anonymous-report"),
    pytest.param("This is a confidential complaint. The clerk takes bribes", (False, True),
                 id="a-confidential-complaint"),
    pytest.param("This must be kept confidential. The clerk takes bribes", (False, True), id="kept-confidential"),
    pytest.param("My name must remain confidential. The clerk takes bribes", (True, False), id="remain-confidential"),
    pytest.param("identitas saya wajib dirahasiakan. pungli di loket 3", (True, False), id="wajib"),
    # The reporter's number or data as citizens name them, two of them with a sign between, the request turned round.
    pytest.param("No. HP saya rahasia. pungli di loket 3", (True, False), id="no-dot-hp"),
    pytest.param("Nama & nomor saya rahasia. pungli di loket 3", (True, False), id="nama-and-sign-nomor"),
    pytest.param("Nama/nomor saya rahasia. pungli di loket 3", (True, False), id="nama-slash-nomor"),
    pytest.param("Alamat saya rahasia. pungli di loket 3", (True, False), id="alamat"),
    pytest.param("Identitas saya rahasiakan ya pak. pungli di loket 3", (True, False), id="rahasiakan"),
    # A form's name line filled with the secrecy word.
    pytest.param("Nama: rahasia. Pungli di loket 3", (True, True), id="name-line-rahasia"),
    pytest.param("Name: withheld. The clerk takes bribes", (True, False), id="name-line-withheld"),
    pytest.param("Pungli di loket 3. Pengirim: dirahasiakan", (True, False), id="name-line-pengirim"),
    pytest.param("Pungli di loket 3. ttd: Hamba Allah", (True, False), id="name-line-ttd"),
    pytest.param("Nama pelapor: rahasia. Pungli di loket 3", (True, True), id="name-line-nama-pelapor"),
    pytest.param("Pungli di loket 3\nNama Pelapor : Hamba Allah", (True, False), id="name-line-nama-pelapor-allah"),
    # Set apart by an emoji, an ellipsis or a dash between spaces rather than a stop.
    pytest.param("identitas saya rahasia ya pak 🙏 pungli di loket 3", (True, False), id="emoji"),
    pytest.param("Ini rahasia ya pak😭 pungli di loket 3", (False, True), id="emoji-glued"),
    pytest.param("Ini rahasia…pungli di loket 3", (False, True), id="ellipsis"),
    pytest.param("Pungli di loket 3 - ini rahasia ya pak - terjadi tiap hari", (False, True), id="dashes"),
    pytest.param("Pungli di loket 3 — identitas saya rahasia — terjadi tiap hari", (True, False), id="em-dashes"),
    pytest.param("*Ini rahasia* pungli di loket 3", (False, True), id="bold"),
    # Asked as formal letters ask it, the name not to be known, signed as one who gives unnamed.
    pytest.param("Mohon jaga kerahasiaan identitas saya. pungli di loket 3", (True, False), id="kerahasiaan"),
    pytest.param("Mohon kerahasiaan identitas pelapor. pungli di loket 3", (True, False), id="kerahasiaan-pelapor"),
    pytest.param("Saya gak mau nama sy diketahui. pungli di loket 3", (True, False), id="tidak-mau-diketahui"),
    pytest.param("Nama: Hamba Allah. Pungli di loket 3", (True, False), id="hamba-allah"),
    pytest.param("Pungli di loket 3. Hamba Allah", (True, False), id="signed-hamba-allah"),
    pytest.param("Pungli di loket 3.\nSalam,\nHamba Allah", (True, False), id="signed-off-hamba-allah"),
    pytest.param("Pungli di loket 3. Dari: hamba allah", (True, False), id="from-hamba-allah"),
    pytest.param("Pungli di loket 3\nPengirim: HAMBA ALLAH", (True, False), id="sender-hamba-allah"),
    pytest.param("Tolong jgn sebut sy. pungli di loket 3", (True, False), id="jangan-sebut-saya"),
    pytest.param("jangan kasih tau kalau saya yang lapor. pungli di loket 3", (True, False), id="saya-yang-lapor"),
    pytest.param("Jgn sampai nama sy ketahuan ya pak. pungli di loket 3", (True, False), id="nama-ketahuan"),
    pytest.param("Please don't reveal who I am. The clerk takes bribes", (True, False), id="who-i-am"),
    pytest.param("Don't tell them it was me. The clerk takes bribes", (True, False), id="it-was-me"),
    # Still prose: the same words with other words, a hyphen inside a word, the emoji inside someone else's words.
    pytest.param("Ini laporan rahasia negara yang dibocorkan pejabat", (False, False), id="laporan-rahasia-negara"),
    pytest.param("It is a secret report by the ministry, leaked", (False, False), id="a-secret-report-by"),
    pytest.param("Ini rahasia-rahasiaan kades. pungli di loket 3", (False, False), id="hyphen"),
    pytest.param("Ini 😡 rahasia negara dijual", (False, False), id="emoji-before-prose"),
    pytest.param("Kades bilang 😡 ini rahasia. Padahal dana desa dipotong", (False, False), id="emoji-said-before"),
    pytest.param("Pak RT (anonim) minta uang", (False, False), id="brackets-withhold-someone-elses-name"),
    pytest.param("Kami sebagai hamba Allah dizalimi kades", (False, False), id="hamba-allah-inside-a-clause"),
    # The reporter's own fear of being found out, without a request; someone else's stays prose.
    pytest.param("Saya takut dipecat kalau ketahuan. Kepala dinas minta setoran", (True, False), id="fear-fired"),
    pytest.param("sy tkt ketauan pak, kadis minta setoran", (True, False), id="fear-typed-short"),
    pytest.param("aku takut klo ketahuan, kadis minta setoran", (True, False), id="fear-klo"),
    pytest.param("Kadis minta setoran. Saya takut identitas saya diketahui", (True, False), id="fear-identity"),
    pytest.param("The clerk takes bribes. I'm afraid of being identified.", (True, False), id="fear-english"),
    pytest.param("Pelaku takut ketahuan lalu kabur", (False, False), id="someone-elses-fear"),
    pytest.param("Saya mau lapor, tapi takut ketahuan. Kades minta uang", (True, False),
                 id="fear-before-the-complaint"),
    pytest.param("mau lapor tapi takut pak. kades minta uang bansos", (True, False), id="fear-of-reporting"),
    pytest.param("Jalan rusak sudah lama, tapi saya takut ketahuan", (True, False), id="fear-after-tapi"),
    pytest.param("Saya mau lapor korupsi tapi saya takut", (True, False), id="tapi-saya-takut"),
    pytest.param("I want to report corruption but I'm afraid", (True, False), id="but-im-afraid"),
    pytest.param("Warga mau protes tapi takut", (False, False), id="others-afraid"),
    pytest.param("Saya lapor tanpa identitas ya. Pungli di samsat", (True, False), id="tanpa-identitas"),
    pytest.param("Pungli di samsat, tolong tanpa nama saya", (True, False), id="tanpa-nama-saya"),
    # The identity, not only the name, asked unsaid, unwritten or unshared, as an SMS types it; the reporter's fear of
    # what would be done to them: each was a named report.
    pytest.param("jgn sebut identitas sy. kades korupsi", (True, False), id="jangan-sebut-identitas"),
    pytest.param("Tolong jangan sebutkan identitas saya. Pungli KTP di kecamatan", (True, False),
                 id="jangan-sebutkan-identitas"),
    pytest.param("Jangan ungkap identitas saya, kades korupsi", (True, False), id="jangan-ungkap"),
    pytest.param("nama saya jangan dicantumkan. kades korupsi", (True, False), id="jangan-dicantumkan"),
    pytest.param("gak usah sebut nama sy ya pak, kades korupsi", (True, False), id="gak-usah-sebut"),
    pytest.param("ga usah pake nama saya, bansos dipotong", (True, False), id="ga-usah-pake"),
    pytest.param("kades korupsi, jgn bocorin nama sy", (True, False), id="jangan-bocorin"),
    pytest.param("tolong samarkan identitas saya. pungli", (True, False), id="samarkan"),
    pytest.param("kades korupsi, no hp sy jgn dikasih ke kades", (True, False), id="nomor-jangan-dikasih"),
    pytest.param("pungli di kelurahan. tolong jangan sebut nama pelapor", (True, False), id="nama-pelapor"),
    pytest.param("pungli di kelurahan. Identitas saya jangan dipublikasikan", (True, False),
                 id="identitas-jangan-dipublikasikan"),
    pytest.param("pungli di kelurahan. don't share my identity", (True, False), id="share-my-identity"),
    pytest.param("saya takut dipecat, atasan saya korupsi anggaran", (True, False), id="fear-of-dismissal"),
    pytest.param("pungli di kelurahan, sy takut diancam", (True, False), id="fear-of-threats"),
    pytest.param("Corruption at the village office. I'm afraid of retaliation", (True, False),
                 id="fear-of-retaliation"),
    # Asked of no object, or the fear said alone, as a clause of its own (`anonymous_requests`).
    pytest.param("pungli di kelurahan. jgn sebut nama ya", (True, False), id="clause-jangan-sebut-nama"),
    pytest.param("Tanpa nama ya pak. Polisi minta uang", (True, False), id="clause-tanpa-nama"),
    pytest.param("pungli di kelurahan, takut ketauan pak", (True, False), id="clause-takut-ketahuan"),
    pytest.param("saya takut, pak kades ancam warga yang lapor. dia korupsi BLT", (True, False),
                 id="clause-saya-takut"),
    pytest.param("pungli di kelurahan. sy takut", (True, False), id="clause-sy-takut-closing"),
    pytest.param("pungli di kelurahan. I'm scared", (True, False), id="clause-im-scared"),
    pytest.param("pungli di pasar, jgn sebutin nama sy", (True, False), id="sebutin"),
    pytest.param("pungli di pasar, rahasiain nama ya", (True, False), id="clause-rahasiakan-nama"),
    pytest.param("pungli di pasar. tolong lindungi saya", (True, False), id="clause-lindungi-saya"),
    pytest.param("kades korupsi - tanpa nama", (True, False), id="clause-after-a-dash"),
    # A pipe, an SMS template's separator, sets a clause apart as a colon does ("TANPA NAMA: pungli ..."); a space
    # alone leaves "tanpa nama" prose ("mayat tanpa nama ...").
    pytest.param("TANPA NAMA|pungli di kelurahan", (True, False), id="clause-before-a-pipe"),
    pytest.param("TANPA NAMA ya pak|pungli di kelurahan", (True, False), id="clause-with-a-particle-before-a-pipe"),
    pytest.param("TANPA NAMA\uff5cpungli di kelurahan", (True, False), id="clause-before-a-fullwidth-pipe"),
    pytest.param("pungli di kelurahan | tanpa nama", (True, False), id="clause-after-a-pipe"),
    # A wish written as a label and its value, a pipe between: read with the pipe as a break alone, it was cut in two
    # and went named (a pipe may add a reading, never take one away).
    pytest.param("Identitas saya | RAHASIA", (True, True), id="identity-label-and-value-across-a-pipe"),
    pytest.param("Pungli di kelurahan. Identitas saya | rahasia", (True, True),
                 id="identity-label-and-value-across-a-pipe-after-the-report"),
    pytest.param("Nama | jangan disebut", (True, False), id="name-label-and-request-across-a-pipe"),
    pytest.param("Laporan|saya rahasia. Pungli di loket 3", (False, True), id="statement-across-a-pipe"),
    pytest.param("This | report is anonymous and confidential. The clerk took money", (True, True),
                 id="english-statement-across-a-pipe"),
    pytest.param("Saya takut|kades ancam warga", (True, False), id="fear-before-a-pipe"),
    pytest.param("Identitas saya rahasia|pungli di loket 3", (True, False), id="identity-statement-before-a-pipe"),
    pytest.param("Ini rahasia ya pak | pungli di loket 3", (False, True), id="statement-before-a-pipe"),
    pytest.param("TANPA NAMA pungli di kelurahan", (False, False), id="tanpa-nama-a-space-apart"),
    pytest.param("mayat tanpa nama|ditemukan di sungai", (False, False), id="tanpa-nama-prose-before-a-pipe"),
    pytest.param("kades korupsi, tp jgn sebut nama ya pak", (True, False), id="clause-after-tapi"),
    pytest.param("Jangan sampai ketahuan ya pak. Kades korupsi", (True, False), id="clause-jangan-sampai-ketahuan"),
    # Not to be found out or known as the one who reported, in the first person; English asking protection.
    pytest.param("saya gk mau ketauan pak. kades korupsi", (True, False), id="tidak-mau-ketahuan"),
    pytest.param("jangan sampai kades tau saya yang lapor", (True, False), id="tau-saya-yang-lapor"),
    pytest.param("Saya tidak mau disebut namanya. Kades korupsi", (True, False), id="disebut-namanya"),
    pytest.param("Tolong jaga kerahasiaan saya. Kades korupsi", (True, False), id="jaga-kerahasiaan-saya"),
    pytest.param("Please protect my identity. The village head is corrupt", (True, False), id="protect-my-identity"),
    pytest.param("I don't want my name mentioned. Village head is corrupt", (True, False), id="name-mentioned"),
    pytest.param("I'm a civil servant and I'm afraid to lose my job. My boss takes bribes", (True, False),
                 id="afraid-to-lose-my-job"),
    pytest.param("Warga tidak mau disebut namanya karena takut", (False, False), id="disebut-namanya-others"),
    pytest.param("Officer takes bribes. My name must not be published", (True, False), id="must-not-be-published"),
    pytest.param("pungli di kelurahan. saya khawatir akan keselamatan saya", (True, False), id="keselamatan"),
    pytest.param("jangan kasih tau kades kalau saya yang lapor, dia minta uang bansos", (True, False),
                 id="kalau-saya-yang-lapor"),
    pytest.param("mohon perlindungan identitas saya, kades korupsi", (True, False), id="perlindungan-identitas"),
    pytest.param("pungli di kelurahan. saya takut di pecat", (True, False), id="di-pecat-split"),
    pytest.param("saya takut jadi sasaran, kades korupsi", (True, False), id="jadi-sasaran"),
    pytest.param("My identity should not be revealed. The clerk takes bribes", (True, False),
                 id="should-not-be-revealed"),
    pytest.param("Kades bilang, jangan sampai ketahuan", (False, False), id="jangan-sampai-ketahuan-said"),
    # Still prose: other words in the clause, someone else's fear or name, or said by someone else.
    pytest.param("Pak kades bilang jangan sebut nama dia ke wartawan", (False, False), id="jangan-sebut-nama-dia"),
    pytest.param("Kades bilang, jangan sebut nama. Padahal dana desa dipotong", (False, False),
                 id="jangan-sebut-nama-said-before"),
    pytest.param("Saya takut anak saya jatuh di jalan rusak itu", (False, False), id="fear-of-the-road"),
    pytest.param("warga takut lewat jalan itu karena gelap", (False, False), id="others-fear"),
    pytest.param("mayat tanpa nama ditemukan di sungai", (False, False), id="tanpa-nama-prose"),
    pytest.param("nomor saya disebar oleh debt collector", (False, False), id="nomor-disebar-prose"),
    # A form's name line left blank or a dash: the reporter chose to give no name.
    pytest.param("Formulir\nNama: -\nInstansi: Dinas PU\nKejadian: pengadaan fiktif", (True, False),
                 id="blank-name-dash"),
    pytest.param("Nama pelapor:\nAlamat: -\nIsi: jalan rusak", (True, False), id="blank-name-empty"),
    pytest.param("Nama: - Alamat: Jl Merdeka. Isi: pungli", (True, False), id="blank-name-one-line"),
    pytest.param("Isi: pungli; Nama: xxx", (True, False), id="blank-name-after-a-field"),
    pytest.param("Name: n/a\nThe clerk takes bribes", (True, False), id="blank-name-en"),
    pytest.param("Nama: Budi, Alamat: -", (False, False), id="another-field-blank"),
    pytest.param("Nama: - kades minta uang", (False, False), id="a-dash-before-words"),
    pytest.param("Pelaku tidak mau menyebut nama: - katanya", (False, False), id="name-inside-a-sentence"),
    # A request alone in an aside opening or closing the text or a clause; inside a clause someone else's.
    pytest.param("(tanpa nama) pungli di kelurahan", (True, False), id="aside-tanpa-nama-opening"),
    pytest.param("pungli di kelurahan (tanpa nama)", (True, False), id="aside-tanpa-nama-closing"),
    pytest.param("Pungli di loket 3 (tanpa nama). Terjadi tiap hari", (True, False), id="aside-tanpa-nama-clause"),
    pytest.param("mayat (tanpa nama) ditemukan di sungai", (False, False), id="aside-tanpa-nama-someone-else"),
    pytest.param("pungli (menurut warga tanpa nama)", (False, False), id="aside-of-other-words"),
    # The reporter as the unnamed resident of news reports, said of themself; quoting one stays prose.
    pytest.param("warga yang tidak mau disebut namanya", (True, False), id="warga-tidak-mau-disebut"),
    pytest.param("Kades korupsi. Warga yang tidak mau disebut namanya", (True, False), id="warga-sign-off"),
    pytest.param("Saya warga yang gak mau disebut namanya, kades korupsi", (True, False), id="saya-warga"),
    pytest.param("Menurut warga yang tidak mau disebut namanya, kades minta uang", (False, False),
                 id="warga-quoted"),
    pytest.param("Seorang warga yang tidak mau disebut namanya mengatakan kades minta uang", (False, False),
                 id="warga-said"),
    # Dismissal feared in English, in the first person; someone else's stays prose.
    pytest.param("I am afraid they will fire me", (True, False), id="afraid-they-will-fire-me"),
    pytest.param("My boss takes bribes. I'm scared they'll fire me", (True, False), id="scared-theyll-fire-me"),
    pytest.param("Workers are afraid of being fired", (False, False), id="others-afraid-of-being-fired"),
])
def test_a_statement_typed_as_an_sms_types_it_is_read(text: str, flags: tuple[bool, bool]) -> None:
    """"identitas sy rhs", "Ini rahasia y pak", "Ini laporan rahasia", "This is an anonymous report", "Nama & nomor saya
    rahasia", "Nama: rahasia", a statement set apart by an emoji or a dash, and the requests typed beside them ("Mohon
    jaga kerahasiaan identitas saya", "Tolong jgn sebut sy"): each whistleblower's word was missed, the report public
    or named. The words stay the text."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.anonymous, parsed.confidential, parsed.text) == (Action.REPORT, *flags, text)


@pytest.mark.parametrize(("text", "action", "body", "anonymous"), [
    pytest.param(f"LAPOR {VALID} saya takut.", Action.REPORT, f"{VALID} saya takut.", True, id="kind-id-fear"),
    pytest.param(f"LAPOR {VALID} jangan sebut nama ya pak. pungli", Action.REPORT,
                 f"{VALID} jangan sebut nama ya pak. pungli", True, id="kind-id-request"),
    pytest.param(f"{VALID} saya takut.", Action.FOLLOW_UP, "saya takut.", True, id="id-fear"),
    pytest.param(f"LAPOR {VALID} saya takut anak saya jatuh", Action.REPORT, f"{VALID} saya takut anak saya jatuh",
                 False, id="kind-id-other-fear"),
])
def test_an_anonymity_request_after_a_tracking_id_opening_a_report_is_read(text: str, action: Action, body: str,
                                                                           anonymous: bool) -> None:
    """"LAPOR <id> saya takut.": the number opens the new report's text and is no word of the request after it. Read
    as one, the clause was prose and the whistleblower went named, where "<id> saya takut." was anonymous."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.anonymous) == (action, body, anonymous)


@pytest.mark.parametrize(("text", "kind", "anonymous", "confidential"), [
    pytest.param(f"LAPOR {VALID} ANONIM foto sudah saya kirim", "complaint", True, False, id="lapor-id-anonim"),
    pytest.param(f"LAPOR {VALID} RAHASIA pungli di loket 3", "complaint", False, True, id="lapor-id-rahasia"),
    pytest.param(f"ADUAN {VALID} ANONIM petugas minta uang", "complaint", True, False, id="aduan-id-anonim"),
    pytest.param(f"WBS {VALID} anonimus kepala dinas minta setoran", "whistleblowing", True, False,
                 id="wbs-id-a-misspelt-flag"),
    pytest.param(f"LAPOR: {VALID} - anonim pungli di pasar", "complaint", True, False, id="marks-around"),
    pytest.param(f"LAPOR #{VALID} ANONIM pungli di pasar", "complaint", True, False, id="hash-id"),
    pytest.param(f"LAPOR ({VALID}) RAHASIA pungli di pasar", "complaint", False, True, id="bracketed-id"),
    pytest.param(f"LAPOR {VALID} ANONIM RAHASIA pungli di pasar", "complaint", True, True, id="both-flags"),
    pytest.param(f"LAPOR {VALID} tambah anonim pungli di pasar", "complaint", True, False, id="flag-opener"),
    pytest.param(f"LAPOR {BAD} ANONIM pungli di pasar", "complaint", True, False, id="a-mistyped-id"),
    # the ID grouped by thousands dots, as a status command reads it ("CEK 12.345.674"), and with its other groupings
    pytest.param(f"LAPOR {DOTTED} ANONIM foto sudah saya kirim", "complaint", True, False, id="dotted-id"),
    pytest.param(f"ADUAN {DOTTED} RAHASIA pungli di loket 3", "complaint", False, True, id="dotted-id-rahasia"),
    pytest.param(f"LAPOR {VALID[:4]} {VALID[4:]} ANONIM foto sudah saya kirim", "complaint", True, False,
                 id="spaced-id"),
    pytest.param(f"LAPOR {VALID[:4]}-{VALID[4:]} ANONIM foto sudah saya kirim", "complaint", True, False,
                 id="dashed-id"),
    # a term of address or a particle between the ID and the anonymity word, as "<id> pak ANONIM foto" reads it
    pytest.param(f"LAPOR {VALID} pak ANONIM foto sudah saya kirim", "complaint", True, False, id="pak-anonim"),
    pytest.param(f"LAPOR {VALID} bu anonim pungli di pasar", "complaint", True, False, id="bu-anonim"),
    pytest.param(f"LAPOR {VALID} ya ANONIM foto sudah saya kirim", "complaint", True, False, id="ya-anonim"),
    pytest.param(f"WBS {VALID} min, ANONIM kepala dinas minta setoran", "whistleblowing", True, False,
                 id="min-comma-anonim"),
    pytest.param(f"LAPOR {DOTTED} pak ANONIM foto sudah saya kirim", "complaint", True, False,
                 id="dotted-id-pak-anonim"),
    # An amount, a date or a time there, whatever its check digit: only the flags are read, a flag read once too often
    # the safe error. Each went named.
    pytest.param("LAPOR 10.000.013 ANONIM foto sudah saya kirim", "complaint", True, False, id="dotted-mistyped-id"),
    pytest.param("LAPOR 15.000.000 ANONIM diminta kepala desa", "complaint", True, False, id="dotted-amount"),
    pytest.param("ADUAN 15.000.000 RAHASIA diminta kepala desa", "complaint", False, True,
                 id="dotted-amount-rahasia"),
    pytest.param("LAPOR 17.08.2025 ANONIM kepala desa minta setoran", "complaint", True, False, id="a-date"),
    pytest.param("LAPOR 10.30 ANONIM kepala desa minta setoran", "complaint", True, False, id="a-time"),
    # So after a number typed in words or spaced apart: a year, a day and a month's name, an amount with its currency
    # or its unit, a date typed with spaces. Each went named.
    pytest.param("LAPOR 2024 anonim pungli di pasar", "complaint", True, False, id="a-year"),
    pytest.param("LAPOR 17 Agustus ANONIM kepala desa minta setoran", "complaint", True, False, id="day-month"),
    pytest.param("ADUAN 17 Agustus 2025 RAHASIA kepala desa minta setoran", "complaint", False, True,
                 id="day-month-year-rahasia"),
    pytest.param("LAPOR 17 agt. ANONIM kepala desa minta setoran", "complaint", True, False,
                 id="day-month-abbreviated"),
    pytest.param("LAPOR Rp 15.000.000 ANONIM diminta kepala desa", "complaint", True, False, id="currency-amount"),
    pytest.param("LAPOR Rp15.000.000,- ANONIM diminta kepala desa", "complaint", True, False,
                 id="currency-glued-amount"),
    pytest.param("LAPOR Rp. 500 ribu ANONIM diminta kepala desa", "complaint", True, False, id="currency-dot-unit"),
    pytest.param("LAPOR 15 juta ANONIM diminta kepala desa", "complaint", True, False, id="amount-in-words"),
    pytest.param("WBS IDR 500rb RAHASIA diminta kepala desa", "whistleblowing", False, True, id="unit-glued"),
    pytest.param("LAPOR 17 08 2025 ANONIM jalan masih rusak", "complaint", True, False, id="date-with-spaces"),
    pytest.param("LAPOR 2025 pak ANONIM pungli di pasar", "complaint", True, False, id="a-year-pak-anonim"),
    pytest.param("LAPOR 2025: ANONIM, RAHASIA pungli di pasar", "complaint", True, True, id="a-year-marks-both"),
    # No flag word right after the number (another word between them, a negation), or no number of an ID's shape: as
    # before; a phone number is the citizen's prose.
    pytest.param(f"LAPOR {VALID} foto sudah saya kirim", "complaint", False, False, id="no-flag-word"),
    pytest.param(f"LAPOR {VALID} nomor anonim meneror saya", "complaint", False, False, id="a-flag-word-in-prose"),
    pytest.param("LAPOR 2025 nomor anonim meneror saya", "complaint", False, False, id="a-year-then-prose"),
    pytest.param("LAPOR 3 orang anonim meneror saya", "complaint", False, False, id="a-count-then-prose"),
    pytest.param("LAPOR 2025 BUKAN ANONIM pungli di pasar", "complaint", False, False, id="a-year-negated"),
    pytest.param("LAPOR 17 Agustus bukan rahasia lagi pungli", "complaint", False, False, id="day-month-negated"),
    pytest.param("LAPOR Rupiah anjlok anonim bilang", "complaint", False, False, id="no-number"),
    pytest.param("LAPOR 081234567890 ANONIM meneror saya", "complaint", False, False, id="a-phone-number"),
    pytest.param("LAPOR 01.08.2025 ANONIM pungli di pasar", "complaint", True, False, id="a-date-opening-with-0"),
    pytest.param("LAPOR 010825 ANONIM pungli di pasar", "complaint", True, False, id="six-digits-opening-with-0"),
    # Our short code before it ran the two together (16 digits, no ID's shape), and the phone number's guard missed it.
    pytest.param("LAPOR 1708 081234567890 ANONIM meneror saya", "complaint", False, False,
                 id="short-code-a-phone-number"),
    pytest.param("LAPOR 1708 6281234567890 ANONIM meneror saya", "complaint", False, False,
                 id="short-code-a-phone-number-without-plus"),
])
def test_a_flag_word_after_a_tracking_id_opening_a_report_is_read(text: str, kind: str, anonymous: bool,
                                                                  confidential: bool) -> None:
    """"LAPOR <id> ANONIM foto": a kind word before an ID makes a new report, its text opening with the number, and
    the ANONIM after it was read as its words: the whistleblower's number went to the agency beside a text naming
    their report. The flag word is read as after an ID typed first; the text stays as it was read."""
    parsed = parse_text(text)
    expected_text = text.split(" ", 1)[1] if not text.startswith("LAPOR: ") else text.split(": ", 1)[1]
    assert (parsed.action, str(parsed.kind), parsed.text, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, kind, expected_text, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param(f"TAMBAH {VALID} ANONIM foto sudah saya kirim", True, False, id="tambah-id-anonim"),
    pytest.param(f"Tambahkan #{VALID} anonim foto sudah saya kirim", True, False, id="tambahkan-hash-id-anonim"),
    pytest.param(f"tambahin {VALID} RAHASIA pungli lagi", False, True, id="tambahin-id-rahasia"),
    # "tambah" opens prose as often: amounts of an ID's shape after it stay the citizen's report, never a label
    # that sends them to a stranger's report, and no flag is read without a flag word.
    pytest.param(f"TAMBAH {VALID} pak ANONIM foto sudah saya kirim", True, False, id="tambah-id-pak-anonim"),
    pytest.param(f"TAMBAH {DOTTED} ANONIM foto sudah saya kirim", True, False, id="tambah-dotted-id-anonim"),
    pytest.param(f"TAMBAH {VALID} foto sudah saya kirim", False, False, id="tambah-id-no-flag-word"),
    pytest.param("tambah 13000000 lagi diminta petugas kelurahan", False, False, id="tambah-an-amount"),
    pytest.param("Pak, tambah 13000000 lagi diminta petugas", False, False, id="tambah-an-amount-after-a-greeting"),
])
def test_a_flag_word_after_a_tracking_id_after_tambah_is_read_the_text_a_report(text: str, anonymous: bool,
                                                                                confidential: bool) -> None:
    """"TAMBAH <id> ANONIM foto": help's "Tambah ANONIM" written around the report's ID was a named report of the
    whole text, the whistleblower's number beside their report's ID. The flag words after the number are read; the
    text stays a report of its own, as "tambah" opens prose too ("tambah 13000000 lagi diminta petugas": read as a
    label, the amount of an ID's shape sent those words to a stranger's report)."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.tracking_id, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, text, None, anonymous, confidential)


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param(f"{DOTTED} ANONIM foto sudah saya kirim", True, False, id="anonim"),
    pytest.param(f"({DOTTED}) RAHASIA pungli lagi", False, True, id="bracketed-rahasia"),
    pytest.param(f"{DOTTED} pak ANONIM foto sudah saya kirim", True, False, id="pak-anonim"),
    pytest.param(f"{DOTTED} foto sudah saya kirim", False, False, id="no-flag-word"),
    pytest.param("12.500.000 diminta petugas kelurahan", False, False, id="an-amount"),
    # whatever the check digit, and after a date or a time of day opening the text too: only the flags are read
    pytest.param("10.000.013 ANONIM kepala desa minta setoran", True, False, id="a-mistyped-id-anonim"),
    pytest.param("15.000.000 ANONIM kepala desa minta setoran", True, False, id="an-amount-anonim"),
    pytest.param("17.08.2025 ANONIM kepala desa minta setoran", True, False, id="a-date-anonim"),
    pytest.param("17/08/2025 RAHASIA kepala desa minta setoran", False, True, id="a-date-slashes-rahasia"),
    pytest.param("17-08-2025 pak ANONIM kepala desa minta setoran", True, False, id="a-date-dashes-pak-anonim"),
    pytest.param("10.30 ANONIM kepala desa minta uang", True, False, id="a-time-anonim"),
    pytest.param("10:30 ANONIM RAHASIA kepala desa minta uang", True, True, id="a-time-colon-both-flags"),
    pytest.param("17.08.2025 ada pungli di kelurahan", False, False, id="a-date"),
    pytest.param("10.30 petugas anonim datang", False, False, id="a-time-then-a-flag-word-in-prose"),
    # and after a number typed in words or spaced apart (each went named)
    pytest.param("2025 ANONIM pungli di pasar", True, False, id="a-year-anonim"),
    pytest.param("17 Agustus RAHASIA kepala desa minta setoran", False, True, id="day-month-rahasia"),
    pytest.param("Rp 15.000.000 ANONIM diminta kepala desa", True, False, id="currency-amount-anonim"),
    pytest.param("15 juta ANONIM RAHASIA diminta kepala desa", True, True, id="amount-in-words-both-flags"),
    pytest.param("17 08 2025 ANONIM jalan masih rusak", True, False, id="date-with-spaces-anonim"),
    pytest.param("2025 nomor anonim meneror saya", False, False, id="a-year-then-a-flag-word-in-prose"),
    pytest.param("2025 bukan rahasia lagi pungli di pasar", False, False, id="a-year-negated"),
    pytest.param("Rp 15.000.000 diminta kepala desa", False, False, id="currency-amount"),
])
def test_a_flag_word_after_a_tracking_id_grouped_by_dots_opening_a_message_is_read(
        text: str, anonymous: bool, confidential: bool) -> None:
    """"12.345.674 ANONIM foto": an ID grouped by thousands dots is read as an amount is, a report of the whole text
    (an addition only typed as one run of digits: "12.500.000 diminta ..." sent to a stranger's report), and the flag
    words after it are read as after "LAPOR <id>", whatever its check digit; so after a date or a time of day. Read
    as the citizen's words, the whistleblower's number went to the agency."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.tracking_id, parsed.anonymous, parsed.confidential) == (
        Action.REPORT, text, None, anonymous, confidential)


@pytest.mark.parametrize(("text", "kept", "confidential"), [
    pytest.param("pungli di pasar\nNama: Rahasia", "pungli di pasar\nNama", True, id="nama-rahasia"),
    pytest.param("Kejadian: pungli di loket 3\nPelapor: rahasia", "Kejadian: pungli di loket 3\nPelapor", True,
                 id="pelapor-rahasia"),
    pytest.param("The clerk takes bribes.\nName: secret", "The clerk takes bribes.\nName", True, id="name-secret"),
    pytest.param("pungli di pasar\nNama pelapor: rahasia", "pungli di pasar\nNama pelapor", True,
                 id="nama-pelapor-rahasia"),
    pytest.param("pungli di pasar\nIdentitas: rahasia", "pungli di pasar\nIdentitas", True, id="identitas-rahasia"),
    pytest.param("LAPOR pungli di pasar. Pengirim: rahasia", "pungli di pasar. Pengirim", True, id="after-a-kind"),
    # A label elsewhere, or a secrecy word closing other words: as before.
    pytest.param("Ini nama: rahasia", "Ini nama", True, id="not-a-line"),
    pytest.param("kades korupsi. RAHASIA", "kades korupsi.", True, id="no-label"),
])
def test_a_closing_name_line_filled_with_a_flag_word_is_read(text: str, kept: str, confidential: bool) -> None:
    """"...\nNama: Rahasia" closing a form: the secrecy word was read off the end as the confidentiality flag, the
    text left ending with "Nama", and the name line it filled never read: a named report."""
    parsed = parse_text(text)
    assert (parsed.action, parsed.text, parsed.confidential) == (Action.REPORT, kept, confidential)
    assert parsed.anonymous is (kept != "Ini nama" and kept != "kades korupsi.")


@pytest.mark.parametrize("text", [
    # Closing the text: the flag word at the end, read before.
    "LAPOR pungli di kelurahan. Laporan ini rahasia.", "pungli di kelurahan. This is confidential.",
    "Pungli di kelurahan, ini rahasia ya min", "pungli di loket 3. rahasia ya",
    "Kades minta uang. This is confidential. Terima kasih",
    # The phrases naming the report (`[flags_in_words] confidential`) and a flag word after the kind word.
    "Laporan ini bersifat rahasia. Pungli di loket 3", "This report is confidential. Officials ask for bribes",
    "Pungli di loket 3. Laporan ini bersifat rahasia. Terjadi tiap hari", "LAPOR Rahasia ya min. pungli di loket 3",
])
def test_a_statement_of_secrecy_read_before_stays_confidential(text: str) -> None:
    """The readings a clause stating the report secret joins: each made the report confidential before and still
    does."""
    assert parse_text(text).confidential


@pytest.mark.parametrize(("text", "anonymous", "confidential"), [
    pytest.param("(anonim saya takut) pungli di kelurahan sudah lama", True, False, id="fear"),
    pytest.param("(anonim, saya takut) pungli di kelurahan sudah lama", True, False, id="comma-fear"),
    pytest.param("LAPOR (anonim, saya takut) pungli di kelurahan", True, False, id="after-a-kind-word"),
    pytest.param("WBS [ANONIM, sy takut dipecat] kepala dinas minta setoran", True, False,
                 id="brackets-abbreviated"),
    pytest.param("(anonim & rahasia, mohon dilindungi) pungli di kelurahan", True, True, id="both-flags-protection"),
    pytest.param("(rahasia, mohon dilindungi) pungli di kelurahan", False, True, id="confidentiality-word"),
    # the reporter's fear of terror asks anonymity besides, in an aside or not (`[flags_in_words]` anonymous)
    pytest.param("(rahasia, saya takut diteror) pungli di kelurahan", True, True, id="confidentiality-word-and-fear"),
    pytest.param("(anonim ya pak) pungli di kelurahan", True, False, id="courtesy"),
    pytest.param("(anonymous, I am afraid) the village head takes bribes", True, False, id="english"),
    pytest.param(f"{VALID} (anonim, saya takut) pungli masih ada", True, False, id="follow-up"),
    # a confidentiality word negated after it: the anonymity word's flag alone ("anonymous, not confidential")
    pytest.param("(anonim, bukan rahasia) pungli di kelurahan", True, False, id="negated-confidentiality-word"),
    pytest.param("(ANONIM tidak RAHASIA, saya takut) pungli di kelurahan", True, False,
                 id="negated-confidentiality-word-and-fear"),
    pytest.param("(rahasia, bukan anonim) pungli di kelurahan", True, True, id="negated-anonymity-word"),
    # inside the text too: the whistleblower asked it there
    pytest.param("Pak RT (anonim, saya takut) minta uang", True, False, id="inside-the-text"),
    pytest.param("Pungli di loket 3 (anonim ya pak). Terjadi tiap hari", True, False, id="inside-courtesy"),
    pytest.param("Pungli di loket 3 (rahasia ya min) tiap hari", False, True, id="inside-confidentiality-word"),
    pytest.param("Kades minta uang [ANONIM, sy takut dipecat] sejak Januari", True, False,
                 id="inside-brackets-abbreviated"),
    pytest.param("Pungli di loket 3 (proyek jalan) dan (anonim, saya takut) tiap hari", True, False,
                 id="inside-after-another-aside"),
    # prose: other words in the aside, a flag word alone in one, a flag word that does not open it
    pytest.param("(anonim menurut warga) pungli di kelurahan", False, False, id="other-words"),
    pytest.param("(Anonim karena pelaku takut ketahuan) pungli di kelurahan", False, False, id="someone-elses-fear"),
    pytest.param("Pak RT (anonim menurut warga) minta uang", False, False, id="inside-other-words"),
    pytest.param("Pak RT (anonim) minta uang", False, False, id="someone-elses-name-withheld"),
    pytest.param("(khawatir, anonim) pungli di kelurahan", False, False, id="flag-word-not-first"),
    pytest.param("(anonim secara) pungli di kelurahan", False, False, id="no-plea"),
])
def test_a_flag_word_opening_an_aside_that_pleads_for_protection_is_read(text: str, anonymous: bool,
                                                                         confidential: bool) -> None:
    """"(anonim saya takut) pungli di kelurahan ...", "(anonim, saya takut) ...", "... (anonim ya pak). ...": the
    whistleblower said they were afraid, or asked, and the report was named, wherever the aside stood. The flags are
    set; the aside stays the citizen's text."""
    parsed = parse_text(text, shortest_id=SHORTEST)
    body = text.removeprefix(f"{VALID} ").removeprefix("LAPOR ").removeprefix("WBS ")
    assert (parsed.text, parsed.anonymous, parsed.confidential) == (body, anonymous, confidential)


@pytest.mark.parametrize("letters", [1, 57, 58, 63, 64, 65, 122, 128, 100_000])
def test_a_flag_word_at_the_end_after_a_long_word_is_read_as_after_a_short_one(letters: int) -> None:
    """The scan back over the last word goes a block of letters at a time (a word of 100,000 letters cost 12 ms a
    reading one letter at a time): words as long as a block, or a letter more or less, end where they end. Glued to
    the letters before it the flag word is part of a longer word; set apart, it is a flag."""
    word = "x" * letters
    glued = parse_text(f"pungli di pasar {word}anonim")
    assert (glued.anonymous, glued.text) == (False, f"pungli di pasar {word}anonim")
    set_apart = parse_text(f"pungli di pasar {word}, ANONIM")
    assert (set_apart.anonymous, set_apart.text) == (True, f"pungli di pasar {word}")


# Invisible format characters a copy from a web page or a keyboard leaves in a message: soft hyphen, Arabic letter
# mark, Mongolian vowel separator, word joiner, invisible operators, deprecated format controls, interlinear annotation
# marks.
INVISIBLE = ["\u00ad", "\u061c", "\u180e", "\u2060", "\u2061", "\u2064", "\u206a", "\u206f", "\ufff9",
             "\ufffb"]


@pytest.mark.parametrize("mark", INVISIBLE, ids=lambda mark: f"U+{ord(mark):04X}")
def test_invisible_format_characters_hide_no_keyword_or_tracking_id(mark: str) -> None:
    """design.md: the text has its control characters removed. These were kept, and one inside or after a word cut it:
    "ANONIM\\u2060 ..." was no flag (the reporter's number reached the agency), "CEK\\u00ad <id>" no status query (filed
    as a new report), "1000\\u20600004 ..." no follow-up."""
    tracking_id = format_tracking_id(1_000_000)
    assert clean_text(f"a{mark}b") == "ab"
    anonymous = parse_text(clean_text(f"ANO{mark}NIM{mark} pungli di pasar"))
    assert (anonymous.anonymous, anonymous.text) == (True, "pungli di pasar")
    status = parse_text(clean_text(f"C{mark}EK{mark} {tracking_id}"))
    assert (status.action, status.tracking_id) == (Action.STATUS, tracking_id)
    follow_up = parse_text(clean_text(f"{tracking_id[:4]}{mark}{tracking_id[4:]} foto baru"))
    assert (follow_up.action, follow_up.tracking_id, follow_up.text) == (Action.FOLLOW_UP, tracking_id, "foto baru")


@pytest.mark.parametrize("raw", ["08123", "0812345", "62812", "021-555", "0062812", "000812345678", "+620812"],
                         ids=["short-mobile", "mobile-cut-short", "short-without-plus", "landline-without-area",
                              "double-zero-prefix-cut-short", "triple-zero", "trunk-zero-after-plus"])
def test_a_sender_no_reply_can_reach_is_rejected_not_turned_into_a_false_e164(raw: str) -> None:
    """phonenumbers keeps a national "0" it cannot strip ("08123" -> "+6208123") and takes
    a number without its area code as possible ("62812" -> "+6262812"): ids no Indonesian number has, which no reply
    reaches and no follow-up matches. A typed rejection says so instead."""
    normalize_msisdn.cache_clear()
    with pytest.raises(RejectedInput) as refused:
        normalize_msisdn(raw)
    assert refused.value.reason == "bad_sender"


@pytest.mark.parametrize(("raw", "e164"), [
    # A sender ID of letters and digits is a name, never a number: phonenumbers read its letters off a keypad
    # ("3636INFO" -> "+6236364636", "0812ABCDEFG" -> "+628122223334") or skipped those before the digits
    # ("BCA1500888" -> "+621500888"), so someone else's number got the report and its reply SMS.
    ("3636INFO", None),
    ("0812ABCDEFG", None),
    ("BCA1500888", None),
    ("INFO 0812-3456-7890", None),
    ("+62 812 3456 7890 ext 5", None),
    ("ＩＮＦＯ１７０８", None),  # fullwidth letters are letters too
    # A name with a colon is no address scheme: only the schemes providers write are read past.
    ("BCA:1500888", None),
    ("INFO:0812345678", None),
    # A provider's address scheme before the number is no name: the number is what follows it.
    ("tel:+6281234567890", "+6281234567890"),
    ("whatsapp:+6281234567890", "+6281234567890"),
    ("0812-3456-7890", "+6281234567890"),
], ids=["digits-then-letters", "mobile-then-letters", "letters-then-digits", "word-then-number", "extension",
        "fullwidth-name", "name-colon-digits", "name-colon-mobile", "tel-scheme", "whatsapp-scheme", "plain-number"])
def test_a_sender_id_with_letters_is_refused_not_read_as_a_number(raw: str, e164: str | None) -> None:
    normalize_msisdn.cache_clear()
    if e164 is not None:
        assert normalize_msisdn(raw) == e164
        return
    with pytest.raises(RejectedInput) as refused:
        normalize_msisdn(raw)
    assert refused.value.reason == "bad_sender"


@pytest.mark.parametrize(("raw", "e164"), [
    ("+39 06 6982 1234", "+390669821234"),  # an Italian number keeps the zero its national number starts with
    ("021 5551234", "+62215551234"),
    ("+62 0812 3456 7890", "+6281234567890"),
])
def test_a_leading_zero_stays_only_where_the_number_has_one(raw: str, e164: str) -> None:
    normalize_msisdn.cache_clear()
    assert normalize_msisdn(raw) == e164


@pytest.mark.parametrize(("name", "shown"), [
    ("Budi\u202e Santoso", "Budi Santoso"),  # a right-to-left override: the operator's view would show it reversed
    ("  Siti\u200b  Rahma\x00 ", "Siti Rahma"),
    ("Siti\nRahma", "Siti Rahma"),  # one line
    ("Jose\u0301", "Jos\u00e9"),  # NFC, as the text
    (" \u200b\t", None),  # nothing left: no name
    (None, None),
])
def test_a_senders_display_name_is_cleaned_as_the_text_is(name: str | None, shown: str | None) -> None:
    """An X or mail display name went to the case store as the provider gave it: controls, bidi overrides and
    zero-width characters in a field operators read, and a blank name as a name."""
    normalized = normalize(InboundMessage(
        channel=Channel.TWITTER, source="x-mentions", provider_message_id="1850000000000000001",
        sender_kind=SenderKind.X_USER, sender_address="1234567890", sender_display_name=name,
        text="jalan rusak di depan SDN 3 Bandung", received_at=datetime(2026, 11, 22, tzinfo=UTC)))
    assert normalized.draft is not None and normalized.draft.sender.display_name == shown


@pytest.mark.parametrize(("text", "action", "kind", "body"), [
    pytest.param("Pak, {id}", Action.STATUS, "complaint", "", id="term-of-address-and-an-id"),
    pytest.param("Min, {id} jalan masih rusak", Action.FOLLOW_UP, "complaint", "jalan masih rusak", id="follow-up"),
    pytest.param("Selamat pagi min, {id} jalan masih rusak", Action.FOLLOW_UP, "complaint", "jalan masih rusak",
                 id="greeting-follow-up"),
    pytest.param("Min, INFO jadwal posyandu", Action.REPORT, "information_request", "jadwal posyandu",
                 id="kind-word"),
    pytest.param("Selamat pagi, WBS kadis minta setoran", Action.REPORT, "whistleblowing", "kadis minta setoran",
                 id="greeting-kind-word"),
    # the text's own: no keyword after it, an answer to another citizen, a greeting with our name alone
    pytest.param("Pak, jalan rusak", Action.REPORT, "complaint", "Pak, jalan rusak", id="no-keyword"),
    pytest.param("ya lapor aja ke polisi", Action.REPORT, "complaint", "ya lapor aja ke polisi", id="a-filler"),
    pytest.param("Permisi, LAPOR", Action.HELP, "complaint", "", id="greeting-and-our-name"),
    # a kind word alone after it, as alone: help, or with a photo the photo's report of that kind (`normalize`)
    pytest.param("Min, WBS", Action.REPORT, "whistleblowing", "", id="a-kind-word-alone"),
    pytest.param("Pak, LAPOR", Action.REPORT, "complaint", "", id="the-generic-kind-word-alone"),
    pytest.param("Pak RT {id} minta uang", Action.REPORT, "complaint", "Pak RT {id} minta uang", id="someone-named"),
])
def test_a_greeting_or_a_call_before_an_id_or_a_kind_word_is_read_past(text: str, action: Action, kind: str,
                                                                       body: str) -> None:
    """"Min, <id> jalan masih rusak", "Pak, <id>", "Min, INFO ...": the follow-up or the status query was a new report
    under the citizen's number, answered with a new Tracking ID, and the kind word was lost."""
    parsed = parse_text(text.format(id=VALID), shortest_id=SHORTEST)
    assert (parsed.action, parsed.kind, parsed.text) == (action, kind, body.format(id=VALID))


@pytest.mark.parametrize(("text", "action", "anonymous", "body"), [
    pytest.param("ANONIM pak {id} jalan masih rusak", Action.FOLLOW_UP, True, "jalan masih rusak", id="follow-up"),
    pytest.param("ANONIM pak {id}", Action.STATUS, True, "", id="status-query"),
    pytest.param("ANONIM, Selamat pagi, {id} jalan masih rusak", Action.FOLLOW_UP, True, "jalan masih rusak",
                 id="greeting"),
    pytest.param("RAHASIA min {id} saya saksi #anonim", Action.FOLLOW_UP, True, "saya saksi", id="confidentiality"),
    pytest.param("ANONIM pak laporan {id}", Action.STATUS, True, "", id="id-named"),
    # the text's own: someone named, a number of the complaint's, no ID at all
    pytest.param("ANONIM Pak RT {id} minta uang", Action.REPORT, True, "Pak RT {id} minta uang", id="someone-named"),
    pytest.param("ANONIM pak 25000000 rupiah diminta petugas", Action.REPORT, True,
                 "pak 25000000 rupiah diminta petugas", id="an-amount"),
    pytest.param("ANONIM pak jalan rusak", Action.REPORT, True, "pak jalan rusak", id="no-id"),
])
def test_a_greeting_or_a_call_after_flag_words_before_an_id_is_read_past(text: str, action: Action, anonymous: bool,
                                                                         body: str) -> None:
    """"ANONIM pak <id> jalan masih rusak": as "Pak, <id> ..." and "ANONIM <id> ..." are, a follow-up; it was a new
    report answered with a new Tracking ID."""
    parsed = parse_text(text.format(id=VALID), shortest_id=SHORTEST)
    assert (parsed.action, parsed.anonymous, parsed.text) == (action, anonymous, body.format(id=VALID))


@pytest.mark.parametrize(("text", "action", "flags", "body"), [
    pytest.param("Maaf, ANONIM {id} buktinya ada di map biru", Action.FOLLOW_UP, (True, False),
                 "buktinya ada di map biru", id="follow-up"),
    pytest.param("Maaf tadi lupa. ANONIM {id}", Action.STATUS, (True, False), "", id="status-query"),
    pytest.param("Maaf tadi lupa, {id} ANONIM saya saksi", Action.FOLLOW_UP, (True, False), "saya saksi",
                 id="the-id-first"),
    pytest.param("Maaf min, RAHASIA {id} saya saksi", Action.FOLLOW_UP, (False, True), "saya saksi",
                 id="confidentiality-and-a-call"),
    pytest.param("\U0001f64f Maaf, ANONIM {id} saya saksi", Action.FOLLOW_UP, (True, False), "saya saksi",
                 id="emoji-before"),
    pytest.param("maaf ya min, anonim {id} saya saksi", Action.FOLLOW_UP, (True, False), "saya saksi",
                 id="particles-and-a-call"),
    # the text's own: no flag word (as without the apology), prose, someone named, an amount, no ID at all
    pytest.param("Maaf ya pak RT {id} ANONIM minta uang", Action.REPORT, (False, False),
                 "Maaf ya pak RT {id} ANONIM minta uang", id="someone-named"),
    pytest.param("Maaf, {id} saya saksi", Action.REPORT, (False, False), "Maaf, {id} saya saksi", id="no-flag"),
    pytest.param("Maaf, akun anonim {id} menyebar hoaks", Action.REPORT, (False, False),
                 "Maaf, akun anonim {id} menyebar hoaks", id="prose"),
    pytest.param("Maaf, ANONIM 25000000 rupiah diminta petugas", Action.REPORT, (True, False),
                 "Maaf, ANONIM 25000000 rupiah diminta petugas", id="an-amount"),
    pytest.param("Maaf, ANONIM pungli kantor camat", Action.REPORT, (True, False), "Maaf, ANONIM pungli kantor camat",
                 id="no-id"),
])
def test_an_apology_before_flag_words_and_an_id_is_read_past(text: str, action: Action, flags: tuple[bool, bool],
                                                             body: str) -> None:
    """"Maaf, ANONIM <id> ...": a citizen asking, too late, that her report be anonymous; as "ANONIM <id> ..." is, a
    follow-up. It was a new report answered with a new Tracking ID, her number beside her report's ID."""
    parsed = parse_text(text.format(id=VALID), shortest_id=SHORTEST)
    assert (parsed.action, (parsed.anonymous, parsed.confidential), parsed.text) == (action, flags,
                                                                                  body.format(id=VALID))


@pytest.mark.parametrize(("text", "action", "kind", "body"), [
    pytest.param("\U0001f64f Min, {id} jalan masih rusak", Action.FOLLOW_UP, "complaint", "jalan masih rusak",
                 id="emoji-before"),
    pytest.param("\U0001f64f\U0001f64f Pak, {id}", Action.STATUS, "complaint", "", id="emoji-before-a-status-query"),
    pytest.param("Min \U0001f64f {id} jalan masih rusak", Action.FOLLOW_UP, "complaint", "jalan masih rusak",
                 id="emoji-after"),
    pytest.param("\U0001f64f Selamat pagi, WBS kadis minta setoran", Action.REPORT, "whistleblowing",
                 "kadis minta setoran", id="emoji-before-a-kind-word"),
    # the text's own: no keyword after it, someone named, emoji and a call alone (thanks)
    pytest.param("\U0001f64f Pak, jalan rusak", Action.REPORT, "complaint", "\U0001f64f Pak, jalan rusak",
                 id="no-keyword"),
    pytest.param("\U0001f64f Pak RT {id} minta uang", Action.REPORT, "complaint", "\U0001f64f Pak RT {id} minta uang",
                 id="someone-named"),
    pytest.param("Min \U0001f64f", Action.COURTESY, "complaint", "Min \U0001f64f", id="a-call-and-thanks"),
])
def test_emoji_around_a_greeting_before_an_id_or_a_kind_word_go_with_it(text: str, action: Action, kind: str,
                                                                        body: str) -> None:
    """"🙏 Min, <id> jalan masih rusak": read past at the start alone, the emoji left the greeting, and the follow-up
    was a new report answered with a new Tracking ID."""
    parsed = parse_text(text.format(id=VALID), shortest_id=SHORTEST)
    assert (parsed.action, parsed.kind, parsed.text) == (action, kind, body.format(id=VALID))


def _read_after_cek(text: str, attachments: list[Attachment] | None = None) -> tuple:
    """How `text` is read: ("added", ID, words, anonymous) for an addition to that report, ("query", ID) for the
    status query, ("report", text, anonymous) for a new report of the whole text."""
    normalized = normalize(InboundMessage(
        channel=Channel.SMS, source="table", provider_message_id="SM1", sender_kind=SenderKind.MSISDN,
        sender_address="+6281234567890", text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC),
        attachments=attachments or []))
    if normalized.query is not None:
        return ("query", normalized.query.tracking_id)
    draft = normalized.draft
    assert draft is not None
    if draft.follow_up_of is not None:
        return ("added", draft.follow_up_of, draft.text, draft.anonymous)
    return ("report", draft.text, draft.anonymous)


# The first ID ever minted, "10000004" (ZEROED), and another: the words after it, a count's noun or "per" first, are
# the citizen's about that report; only a unit that follows nothing but an amount makes the number one.
@pytest.mark.parametrize("tracking_id", [ZEROED, VALID])
@pytest.mark.parametrize(("form", "words"), [
    pytest.param("CEK {id} {words}", "orang itu datang lagi tadi malam", id="cek-orang"),
    pytest.param("CEK {id} {words}", "jiwa saya terancam", id="cek-jiwa"),
    pytest.param("CEK {id} {words}", "per hari ini pelaku masih berjualan", id="cek-per"),
    pytest.param("CEK {id} {words}", "rp 500rb diminta lagi", id="cek-rp-before-a-number"),
    pytest.param("CEK {id} {words}", "kk saya dicoret dari daftar", id="cek-kk"),
    pytest.param("CEK {id} {words}", "people came again last night", id="cek-people"),
    pytest.param("LAPOR CEK {id} {words}", "orang itu datang lagi", id="lapor-cek-orang"),
    pytest.param("#{id} {words}", "orang itu datang lagi", id="hash-orang"),
    pytest.param("<{id}> {words}", "jiwa saya terancam", id="angle-brackets-jiwa"),
    pytest.param("CEK {id}-{words}", "an pelaku datang lagi", id="cek-dash-an"),
    # the ID first, help's label before it, a kind word before the command: as after "CEK" (each was a new named
    # report holding the ID)
    pytest.param("{id} {words}", "jiwa saya terancam", id="id-first-jiwa"),
    pytest.param("{id}: {words}", "orang itu datang lagi", id="id-colon-orang"),
    pytest.param("{id} {words}", "per hari ini pelaku masih buka lapak", id="id-first-per"),
    pytest.param("{id} {words}", "rp 500rb diminta lagi", id="id-first-rp"),
    pytest.param("Tambahan: {id} {words}", "kk saya dicoret", id="taught-label-kk"),
    pytest.param("Tambahan {id} {words}", "jiwa saya terancam", id="bare-label-jiwa"),
    pytest.param("WBS CEK {id} {words}", "kepala dinas minta setoran lagi", id="wbs-cek"),
    pytest.param("WBS CEK {id} {words}", "orang itu datang lagi", id="wbs-cek-orang"),
])
def test_a_count_s_noun_after_a_valid_id_is_the_citizen_s_word(form: str, words: str, tracking_id: str) -> None:
    """Read as an amount ("orang", "jiwa", "kk", "per" were `amount_units`), the addition was filed as a new report
    beside the sender's number, an anonymous report's reporter's too."""
    read = _read_after_cek(form.format(id=tracking_id, words=words))
    assert read[:3] == ("added", tracking_id, words)


@pytest.mark.parametrize("text", ["CEK {id} orang itu datang lagi tadi malam", "CEK {id} jiwa saya terancam",
                                  "{id} jiwa saya terancam", "WBS CEK {id} kepala dinas minta setoran lagi"])
def test_a_count_s_noun_after_a_valid_id_with_a_photo_is_the_report_s_addition(text: str) -> None:
    """Sent with a photo (it was the addition on main; the amount rule made it a new report)."""
    read = _read_after_cek(text.format(id=ZEROED), [PHOTO])
    assert read[:2] == ("added", ZEROED)


@pytest.mark.parametrize(("text", "expected"), [
    # A valid ID after a status command is that ID whatever follows it: a unit only an amount takes, ",-", dots with a
    # round group or a round number make no amount of it (read as one, "CEK 10070000 pelaku datang lagi", a real
    # anonymous report's addition, was a new named report beside the sender's number, the report's ID in its text)
    pytest.param("cek 15000005 rupiah dana desa dipotong", "added", id="rupiah"),
    pytest.param("cek 15000005 juta dana desa dipotong", "added", id="juta"),
    pytest.param("cek 15000005 rb diminta", "added", id="rb"),
    pytest.param("cek 15000005,- diminta", "added", id="comma-dash"),
    pytest.param("CEK 12345671,- orang itu datang lagi", "added", id="comma-dash-orang"),
    pytest.param("Cek 15.000.005 dana desa dipotong", "added", id="grouped-round"),
    pytest.param("CEK 10.000.004 orang itu datang lagi", "added", id="grouped-round-orang"),
    pytest.param("CEK 12345671 rupiah yang diminta naik jadi 500rb", "added", id="rupiah-opens-words"),
    pytest.param("CEK 12345671 juta-an rupiah hilang", "added", id="juta-an"),
    pytest.param("CEK 12.345.671 pelaku datang lagi", "added", id="grouped-not-round"),
    pytest.param("CEK 10070000 pelaku datang lagi tadi malam", "added", id="round-pelaku"),
    pytest.param("cek 13000000 untuk apa", "added", id="round-untuk-apa"),
    pytest.param("cek 4500000 masuk rekening kades", "added", id="round-rekening"),
    pytest.param("cek 21000000 dana bos tidak jelas", "added", id="round-dana-bos"),
    # alone, or with a question, thanks or urging: the status query
    pytest.param("CEK 13000000", "query", id="round-alone"),
    pytest.param("CEK 13000000 terima kasih", "query", id="round-thanks"),
    pytest.param("CEK 13000000 sudah sampai mana?", "query", id="round-question"),
    pytest.param("CEK 10.070.000 sudah sampai mana?", "query", id="grouped-round-question"),
    pytest.param("cek 4500000 mohon ditindaklanjuti", "query", id="round-urging"),
    # grouped by commas with words after it (main's rule): a cheque's amount, a report of the whole text
    pytest.param("Cek 12,500,000 dana desa tidak jelas", "report", id="comma-grouped"),
])
def test_a_valid_id_after_cek_is_never_an_amount(text: str, expected: str) -> None:
    """Only main's comma-grouped amount is the citizen's report; a valid ID otherwise names the report it may be, and
    where it was never issued the follow-up's resolution files a new report keeping the flags
    (gateway/followups.py)."""
    read = _read_after_cek(text)
    assert read[0] == expected, read
    if expected == "report":
        assert read[1] == text


@pytest.mark.parametrize(("text", "anonymous"), [
    pytest.param("CEK 10070000 pelaku datang lagi tadi malam", False, id="named"),
    pytest.param("CEK 10070000 ANONIM pelaku datang lagi tadi malam", True, id="anonim-after-id"),
    pytest.param("ANONIM CEK 10070000 pelaku datang lagi tadi malam", True, id="anonim-before"),
    pytest.param("CEK ANONIM 15000005 rupiah dana desa dipotong", True, id="anonim-between"),
    pytest.param("ANONIM cek 21000000 dana bos tidak jelas", True, id="round-anonim"),
])
def test_flags_before_or_after_a_valid_id_are_kept_on_its_addition(text: str, anonymous: bool) -> None:
    read = _read_after_cek(text)
    assert read[0] == "added" and read[3] is anonymous, read


@pytest.mark.parametrize("text", ["CEK ANONIM 12,500,000 dana desa tidak jelas",
                                  "ANONIM CEK 12,500,000 dana desa tidak jelas"])
def test_flags_are_kept_when_a_comma_grouped_amount_makes_a_report(text: str) -> None:
    read = _read_after_cek(text)
    assert read[0] == "report" and read[2] is True, read


def test_a_round_valid_id_with_words_and_a_photo_is_the_report_s_addition() -> None:
    read = _read_after_cek("CEK 10070000 pelaku datang lagi tadi malam", [PHOTO])
    assert read[:2] == ("added", "10070000")


# After "CEK <id>", words that only ask after the report, apologise or ask leave, urge, wait or laugh: the status
# query (`[status_questions.after_id]`; a letter typed over and over counts once). Each was added to the report.
@pytest.mark.parametrize("words", [
    "sudah sampai dimana?", "udh smp dmn", "smp dmn", "mohon maaf, sudah sampai mana?", "maaf mengganggu",
    "maaf pak mau tanya", "permisi", "ada kabar terbaru?", "kabar terbaru", "mohon kejelasannya", "mohon kepastian",
    "kok blm ada kejelasan", "mana tindakannya", "plis", "kok lamaaa", "lamaa bgt", "lama bgtt", "lama amat",
    "lama bener", "hehe", "wkwk", "kenapa ditolak", "instansi mana",
])
def test_words_that_only_ask_after_the_report_stay_the_status_query(words: str) -> None:
    assert _read_after_cek(f"CEK {ZEROED} {words}") == ("query", ZEROED)


# The outcome stated in words our status answers hold, put together as ours never do: the citizen's word on the report,
# added (dropped as our answer copied back, it was lost; the answer gives the status either way). Our answer's words
# as they run in it, or a status name alone, stay ours: the query.
@pytest.mark.parametrize(("words", "expected"), [
    pytest.param("belum selesai", "added", id="belum-selesai"),
    pytest.param("tidak selesai", "added", id="tidak-selesai"),
    pytest.param("not resolved", "added", id="not-resolved"),
    pytest.param("ditolak lagi", "added", id="ditolak-lagi"),
    pytest.param("belum diterima", "added", id="belum-diterima"),
    pytest.param("belum diteruskan ke instansi", "added", id="belum-diteruskan"),
    pytest.param("lagi", "query", id="lagi"),
    pytest.param("ke 1708 lagi nanti.", "query", id="retry-tail"),
    pytest.param("sedang ditindaklanjuti", "query", id="status-name"),
    pytest.param("diteruskan ke instansi", "query", id="status-name-forwarded"),
    pytest.param(f"belum bisa dicek saat ini. Silakan kirim CEK {ZEROED} ke 1708 lagi nanti.", "query",
                 id="retry-answer-copied"),
])
def test_an_outcome_stated_in_our_answers_words_is_the_citizen_s_addition(words: str, expected: str) -> None:
    assert _read_after_cek(f"CEK {ZEROED} {words}")[0] == expected


# What became of the report after "CEK <id>": stated (no "?", no question word or request, not "sudah ... belum"), the
# citizen's word on the outcome, added to the report (the answer gives the status all the same); asked, the query.
@pytest.mark.parametrize(("words", "expected"), [
    pytest.param("sudah diperbaiki kemarin, terima kasih", "added", id="repaired-thanks"),
    pytest.param("thank you, it is fixed", "added", id="fixed-en"),
    pytest.param("tidak tuntas", "added", id="tidak-tuntas"),
    pytest.param("belum tuntas", "added", id="belum-tuntas"),
    pytest.param("sudah ditindak", "added", id="sudah-ditindak"),
    pytest.param("udah beres min makasih", "added", id="beres-makasih"),
    pytest.param("laporan saya tidak ditanggapi", "added", id="tidak-ditanggapi"),
    pytest.param("kok ga ada tanggapan", "added", id="kok-ga-ada-tanggapan"),
    pytest.param("kok blm ada tanggapan", "added", id="kok-blm-ada-tanggapan"),
    pytest.param("belum ada tindakan", "added", id="belum-ada-tindakan"),
    pytest.param("laporan saya diabaikan", "added", id="diabaikan"),
    pytest.param("kok dicuekin", "added", id="dicuekin"),
    pytest.param("percuma lapor", "added", id="percuma-lapor"),
    pytest.param("pelayanan lambat", "added", id="pelayanan-lambat"),
    pytest.param("sudah diperbaiki?", "query", id="repaired-asked"),
    pytest.param("sudah ditangani belum", "query", id="sudah-belum"),
    pytest.param("kapan diperbaiki", "query", id="kapan"),
    pytest.param("mohon ditindaklanjuti", "query", id="mohon"),
    pytest.param("ditunggu tanggapannya", "query", id="ditunggu"),
    pytest.param("is it fixed?", "query", id="fixed-asked-en"),
    pytest.param("kok belum ditanggapi?", "query", id="kok-asked"),
])
def test_what_became_of_the_report_stated_after_cek_is_added_asked_is_the_query(words: str, expected: str) -> None:
    read = _read_after_cek(f"CEK {ZEROED} {words}")
    assert read[:2] == ((expected, ZEROED) if expected == "query" else ("added", ZEROED)), read
    if expected == "added":
        assert read[2] == words


# The words read after "CEK <id>" only: without a Tracking ID these read as before them, reports (made a question how
# to ask the status, the complaint was not filed).
@pytest.mark.parametrize("text", [
    "kenapa lama sekali prosesnya", "tolong dipercepat prosesnya", "belum ada penanganan", "kapan diperbaiki?",
    "kapan dikerjakan?", "Lapor, kok lama banget penanganannya",
])
def test_the_words_of_a_status_question_after_an_id_leave_a_text_without_one_a_report(text: str) -> None:
    assert _read_after_cek(text) == ("report", text.removeprefix("Lapor, "), False)
