"""Hostile input, property-based: the SMS grammar, the normalizer, the aggregator's payload decoding and the MIME
parser take anything without an untyped exception, and a non-empty message always becomes a draft, a query (a
courtesy among them) or a typed rejection (never nothing). Bounded runs (max_examples) so the file stays quick.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channels.base import InboundMessage, parse_form
from channels.email.parse import decode_text, header_text, parse_bytes, parse_mail
from channels.email.processor import provider_message_id
from channels.sms_aggregator import AggregatorSmsAdapter, parse_udh
from channels.twilio_sms import TwilioSmsAdapter
from gateway.errors import RejectedInput
from gateway.settings import Settings, load_settings
from gateway.tracking import MAX_LENGTH, MIN_LENGTH
from normalizer import keywords
from normalizer.envelope import Attachment, Channel, ReportKind, SenderKind
from normalizer.flags_in_words import (
    _asks_in_a_phrase,
    _fills_a_name_line,
    _folded_words,
    _opens_a_clause_with,
    _said_in_a_phrase,
)
from normalizer.grammar import Action, load_grammar
from normalizer.inbound import decode_payload
from normalizer.keywords import (
    _flags_before_a_tail,
    _one_character,
    _parse_query,
    _past_symbols_and_our_address_at,
    _read_query,
    _second_kind_after,
    _second_kind_at,
    _second_kind_before_flag,
    _take_trailing_flags,
    parse_text,
)
from normalizer.pipeline import Normalized, normalize
from normalizer.text import clean_text, fold_word

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EMAIL_FIXTURES = sorted((FIXTURES / "email").glob("*.eml"))
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A valid Tracking ID to build envelopes with (check digit holds).
TRACKING_ID = "10000009"

# What a control-character-laden, bidi-spoofed, keypad-typed message is made of.
NASTY = st.sampled_from(
    ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u200e", "\u202e", "\u2066", "\ufeff", "\r", "\r\n", "\t",
     "\u00a0", "\u0301", "\u0308", "#", ":", "-", "?", "@lapor1708 ", "LAPOR", "anonim", "#rahasia", "CEK ",
     "10000009", "1000 0009", "0812-3456-7890", "+62 812 3456 7890", "٣", "Ⅻ", "ﬁ", "\U0001f600", "\n\n\n",
     "terima kasih", "ok", "\U0001f44d"]
)
# Surrogate-free text: what survives a UTF-8 transport (forms decode with replacement, JSON rejects lone ones).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
HOSTILE_TEXT = st.lists(st.one_of(TEXT, NASTY), max_size=12).map("".join)


@pytest.fixture(scope="module")
def gateway_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings({"LAPOR_PROFILE": "development",
                          "LAPOR_DATA_DIR": str(tmp_path_factory.mktemp("data"))})


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text) or any(
        ch in text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\ufeff")


def assert_accounted_for(message: InboundMessage, result: Normalized | None) -> None:
    """Exactly one of draft and query; a draft is clean and serializes the way intake stores it."""
    if result is None:  # a typed rejection: the caller answers it (400 / quarantine), nothing is silently dropped
        return
    assert (result.draft is None) != (result.query is None)
    if result.query is not None:
        assert result.query.action in (Action.STATUS, Action.HELP, Action.STATUS_HELP, Action.BAD_TRACKING_ID,
                                       Action.COURTESY, Action.OPT_OUT, Action.OPT_IN)
        # A courtesy, an opt-out or an opt-in is left unanswered: never one that carries a photo, nor one from e-mail
        # (its text is kept whole).
        assert result.query.action not in (Action.COURTESY, Action.OPT_OUT, Action.OPT_IN) or not (
            message.attachments or message.channel is Channel.EMAIL)
        # Nor is a photo answered at all, with help or with a status only: a greeting or a help word sent with one is
        # its report, a Tracking ID with one a follow-up of that report (a mistyped one, a report of its own).
        assert not message.attachments
        return
    draft = result.draft
    assert draft is not None
    assert draft.text or draft.attachments or message.channel is Channel.EMAIL
    assert not _has_control(draft.text)
    assert unicodedata.is_normalized("NFC", draft.text), "envelope text must be NFC"
    envelope = orjson.loads(draft.with_tracking_id(TRACKING_ID).model_dump_json())
    assert envelope["channel_message_id"] == message.provider_message_id
    assert orjson.loads(orjson.dumps(draft.with_tracking_id(TRACKING_ID).model_dump(mode="json"))) == envelope


def normalize_or_reject(message: InboundMessage) -> Normalized | None:
    try:
        return normalize(message)
    except RejectedInput as error:
        assert error.reason
        return None


# -- the SMS keyword grammar --------------------------------------------------------------------------------------
@BOUNDED
@given(HOSTILE_TEXT, st.sampled_from([MIN_LENGTH, 8, MAX_LENGTH]))
@example("LAPOR\u202e: jalan rusak", MIN_LENGTH)
@example("#anonim #rahasia", MIN_LENGTH)
@example("CEK ٣٣٣٣٣٣٣٣", MIN_LENGTH)
@example("١٠٠٠٠٠٠٩ tambahan", MIN_LENGTH)
@example("1000 0009 tambahan", 8)
def test_the_keyword_grammar_reads_anything(text: str, shortest_id: int) -> None:
    cleaned = clean_text(text)
    parsed = parse_text(cleaned, load_grammar(), shortest_id=shortest_id)
    assert parsed.language in ("id", "en")
    if parsed.action in (Action.REPORT, Action.COURTESY):
        # The text left is the citizen's own: nothing invented, only keywords and separators taken away.
        assert set(parsed.text) <= set(cleaned) | {" "}
    if parsed.action in (Action.STATUS, Action.FOLLOW_UP):
        assert parsed.tracking_id and parsed.tracking_id.isascii() and parsed.tracking_id.isdigit()
    if parsed.action is Action.FOLLOW_UP:
        assert parsed.text


GRAMMAR = load_grammar()
# The grammar's own words and what citizens type around them: kinds, flags, commands, greetings, terms of address,
# particles, our short code and handle, Tracking IDs in other digits, and the marks between.
GRAMMAR_WORDS = st.sampled_from([
    *sorted(set(GRAMMAR.kinds) | set(GRAMMAR.flags) | GRAMMAR.status_words | GRAMMAR.help_words
            | GRAMMAR.greeting_words | GRAMMAR.calls | GRAMMAR.flag_particles),
    "ANONIM", "RAHASIA", "LAPOR!", "Hamba Allah", "Selamat pagi", "negara", "takut", "saya", "bukan", "dan", "pungli",
    "1708", "@lapor1708", TRACKING_ID, "10000004", "１００００００４", "١٠٠٠٠٠٠٤", "1000 0004", "#1916449", "12345678"])
GRAMMAR_GAPS = st.sampled_from([" ", ", ", ". ", "! ", "? ", "?! ", "\n", ": ", " - ", "...", " \U0001f64f ",
                                "\U0001f44d", " (", ") ", "[", "] ", "#", "~", "&", "+", "\u200b", "\u200e", "\u202e",
                                "\u0301", "\u00a0", "\t", ""])
GRAMMAR_TEXT = st.lists(
    st.tuples(GRAMMAR_WORDS.flatmap(lambda word: st.sampled_from([word, word.upper(), word.title()])), GRAMMAR_GAPS),
    min_size=1, max_size=8).map(lambda pairs: "".join(word + gap for word, gap in pairs))


@SMALL
@given(st.sampled_from(["", "ANONIM ", "ANONIM aja. ", "Min, ", "Pak ", "\U0001f64f ", "1708 "]), GRAMMAR_TEXT,
       st.sampled_from([1, 2, 40, 2000]))
@example("", "anonim aja. 1708 ", 2000)
@example("", "1708 anonim ya pak! ", 2000)
def test_the_grammars_own_words_in_any_order_and_repeated_are_read(opening: str, words: str, repeats: int) -> None:
    """Never an exception, however often a unit of its words repeats: what is left of a report or a follow-up is the
    citizen's own characters in order (nothing invented), and "ANONIM" as the first word always withholds the
    number."""
    text = clean_text(opening + words * repeats)
    parsed = parse_text(text, GRAMMAR)
    if parsed.action in (Action.REPORT, Action.COURTESY, Action.FOLLOW_UP):
        typed = iter(text)
        assert all(char in typed for char in parsed.text if not char.isspace())
    if text.split()[:1] == ["ANONIM"]:
        assert parsed.anonymous
    assert_accounted_for(_sms_of(text), normalize_or_reject(_sms_of(text)))


# Words that end the tails read past after closing flags (thanks, pleas, clarifications), and what else may end a text.
TAIL_WORDS = st.sampled_from([*sorted(GRAMMAR.tail_last_words), "ANONIM", "rahasia", "diperbaiki", "Terima",
                              "kasih", "umum", "takut", "x" * 40, "\U0001f64f", "."])


# A closing flag and what is said after it: thanks, a plea, a clarification, or words of the citizen's.
CLOSING_FLAGS = st.sampled_from(["", ", anonim", " (rahasia)", ". ANONIM", ", mohon anonim", " #anonim"])
TAILS = st.sampled_from(["", ". Terima kasih", " ya pak", ", karena saya takut", " krn sy tkt dipecat",
                         ", bukan untuk umum", ", tidak untuk publik ya", " 🙏", " terima kasih banyak pak 🙏",
                         ", jalan rusak", " takut", " umum"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(HOSTILE_TEXT, GRAMMAR_TEXT), CLOSING_FLAGS, TAILS,
       st.lists(st.tuples(TAIL_WORDS, GRAMMAR_GAPS), max_size=3))
@example("Kades minta uang", ", anonim", ", karena saya takut", [])
@example("Kades minta uang", ", anonim", ", bukan untuk umum", [])
@example("Kades minta uang", ", anonim", ". Terima kasih", [])
def test_the_closing_flags_read_the_same_whether_the_tails_are_read_or_passed_by(
        text: str, flag: str, tail: str, ending: list[tuple[str, str]]) -> None:
    """Most texts end with a word no tail ends with, and the readings of thanks, pleas and clarifications after
    closing flags are passed by (`_may_end_with_a_tail`): for any text, what is taken and flagged is what reading them
    takes and flags."""
    typed = clean_text(text + flag + tail + "".join(gap + word for word, gap in ending))
    gated, read = set(), set()
    assert _take_trailing_flags(typed, GRAMMAR, gated) == _flags_before_a_tail(typed, GRAMMAR, read)
    assert gated == read


# The words of the phrases anonymity and confidentiality are asked in (`[flags_in_words]`), the request words read
# past inside them, the negations before them, and words no fold of a citizen's text yields but the phrases' reading
# must still read alike: one holding a space ("ͺ" folds to " ͅ"), one holding the asked mark.
PADDED_PHRASES = [phrase for table in (GRAMMAR.anonymity_phrases, GRAMMAR.anonymity_asked_phrases,
                                       GRAMMAR.confidentiality_phrases, GRAMMAR.confidentiality_asked_phrases)
                  for phrases in table.values() for phrase in phrases]
PHRASE_WORDS = st.sampled_from([*sorted({word for phrase in PADDED_PHRASES
                                         for word in phrase.replace("^", "").split()}),
                                *sorted(GRAMMAR.anonymity_phrase_fillers), "jangan", "tidak", "bukan", "pungli",
                                "^saya", "^dirahasiakan", "saya \u0345x"])
# The phrases themselves, as a citizen types them ("identitas saya dirahasiakan"), among other words.
PHRASES = st.sampled_from(sorted({tuple(phrase.replace("^", "").split()) for phrase in PADDED_PHRASES}))
SAID_WORDS = st.lists(st.one_of(PHRASE_WORDS.map(lambda word: [word]), PHRASES.map(list),
                                st.lists(PHRASE_WORDS, min_size=2, max_size=3).map(lambda words: [" ".join(words)])),
                      max_size=8).map(lambda runs: [word for run in runs for word in run])


@settings(max_examples=400, deadline=None)
@given(SAID_WORDS, st.booleans())
@example(["identitas", "saya dirahasiakan"], False)
@example(["nama", "^saya", "tidak", "disebutkan"], False)
@example(["tolong", "nama", "saya", "tidak", "disebutkan"], False)
@example(["jangan", "laporan", "ini", "dirahasiakan"], True)
def test_the_phrases_asked_in_words_are_found_the_same_whether_all_or_only_those_of_the_texts_words_are_looked_for(
        words: list[str], confidential: bool) -> None:
    """Only the phrases made of the text's words are looked for (`phrase_words`): for any words, what is found is what
    looking for every phrase a word of them opens finds."""
    by_word, asked_by_word, negations = (
        (GRAMMAR.confidentiality_phrases, GRAMMAR.confidentiality_asked_phrases, GRAMMAR.confidentiality_negations)
        if confidential else (GRAMMAR.anonymity_phrases, GRAMMAR.anonymity_asked_phrases, ()))
    opened = [phrase for word in by_word.keys() & set(words) for phrase in by_word[word]]
    asked = [phrase for word in asked_by_word.keys() & set(words) for phrase in asked_by_word[word]]
    read = _said_in_a_phrase(f" {' '.join(words)} ", words, opened, asked, GRAMMAR, negations)
    assert _asks_in_a_phrase(words, by_word, asked_by_word, GRAMMAR, negations=negations) == read


# What a Tracking ID typed first, labelled or named is written with, and what stands around it.
ID_WORDS = st.sampled_from([*sorted(GRAMMAR.follow_up_words | GRAMMAR.status_fillers | GRAMMAR.status_words),
                            "Tambahan:", "Nomor lacak:", "ANONIM", "LAPOR", "1708", "10000004", "1000 0004",
                            "1.000.0004", "1000-0004", "1000\u20130004", "1000 - 0004", "１００００００４",
                            "\u0661\u0660\u0660\u0660\u0660\u0660\u0660\u0664", "100004", "12345", "123456",
                            "12345672", "#1916449", "<10000004>", "(10000004)", "17-08-2025", "1.500.000",
                            "081234567890", "jalan rusak", "sudah sampai mana?"])
ID_TEXT = st.lists(st.tuples(ID_WORDS, GRAMMAR_GAPS), min_size=1, max_size=6).map(
    lambda pairs: "".join(word + gap for word, gap in pairs))


@settings(max_examples=400, deadline=None)
@given(st.one_of(ID_TEXT, GRAMMAR_TEXT, HOSTILE_TEXT), st.sampled_from([MIN_LENGTH, 8, MAX_LENGTH]), st.booleans())
@example("laporan 1000 0004", MIN_LENGTH, True)
@example("Tambahan: 1.000.0004 jalan rusak", MIN_LENGTH, True)
@example("10000004", MIN_LENGTH, False)
@example("Nomor lacak: 123456", MIN_LENGTH, True)
def test_the_readings_of_a_tracking_id_read_the_same_whether_asked_or_passed_by(
        text: str, shortest_id: int, addressed: bool) -> None:
    """A text with no run of digits an ID could be has the readings of an ID typed first, labelled or named passed by
    (`_ANY_ID_RUN`): for any text, the query read is the one reading them reads."""
    typed = clean_text(text)
    if _one_character(typed):  # answered with help before either reads it
        return
    assert _parse_query(typed, GRAMMAR, "id", shortest_id, False, addressed=addressed) == _read_query(
        typed, GRAMMAR, "id", shortest_id, addressed=addressed, numbered=True)


# A form's name line filled with the wish, its words apart, and words around them.
NAME_LINE_WORDS = st.sampled_from([*sorted({word for line in GRAMMAR.anonymity_name_lines for word in line}),
                                   *sorted(GRAMMAR.anonymity_phrase_fillers), "Nama:", "NAMA", "saya", "Budi", "di",
                                   "\uff2e\uff21\uff2d\uff21", "pungli", "sy", "rahasiakan"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.tuples(NAME_LINE_WORDS, GRAMMAR_GAPS), min_size=1, max_size=8).map(
    lambda pairs: "".join(word + gap for word, gap in pairs)), GRAMMAR_TEXT, HOSTILE_TEXT))
@example("Nama: Anonim. Pungli di loket 3")
@example("Pungli di loket 3.\nPelapor: hamba Allah")
@example("Pelapor: dirahasiakan. Pungli di loket 3")
@example("Hamba Allah. Pungli di loket 3")
def test_a_name_line_is_read_the_same_whether_its_openers_are_looked_up_at_once_or_line_by_line(text: str) -> None:
    """A text none of whose words opens a name line has them passed by at once (`anonymity_name_line_openers`): for
    any text, what is read is what reading the lines a word of it opens reads."""
    typed = clean_text(text)
    words = _folded_words(typed, GRAMMAR)
    lines = [line for line in GRAMMAR.anonymity_name_lines if line and line[0] in words]
    assert _fills_a_name_line(typed, words, GRAMMAR) == _opens_a_clause_with(typed, lines, GRAMMAR)


# Where the keywords after a kind word stop: more kind words, our short code and emoji, flag words, prose.
KIND_RUN_WORDS = st.sampled_from([*sorted(GRAMMAR.kinds), *sorted(GRAMMAR.second_kinds), "ANONIM", "rahasia",
                                  "1708", "@lapor1708", "\U0001f64f", "[WBS]", "(anonim & rahasia)", "jalan",
                                  "pungli", "info", "tambah"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(st.tuples(KIND_RUN_WORDS, GRAMMAR_GAPS), min_size=1, max_size=6).map(
    lambda pairs: "".join(word + gap for word, gap in pairs)), GRAMMAR_TEXT, HOSTILE_TEXT),
       st.integers(min_value=0, max_value=40), st.sampled_from(list(ReportKind)))
@example("LAPOR pengaduan ANONIM pungli", 6, ReportKind.COMPLAINT)
@example("LAPOR 1708 WBS ANONIM pungli", 6, ReportKind.COMPLAINT)
@example("LAPOR WBS pungli", 6, ReportKind.COMPLAINT)
def test_a_second_kind_word_is_read_the_same_whether_looked_for_once_or_by_each_reading(
        text: str, at: int, kind: ReportKind) -> None:
    """Where the keywords after a kind word stop with no short code or emoji, a kind word is read once for both
    readings of a second one (`_second_kind_after`): for any text and position, what is taken is what they take."""
    typed = clean_text(text)
    at = min(at, len(typed))
    past = _past_symbols_and_our_address_at(typed, at, GRAMMAR)
    assert _second_kind_after(typed, at, past, GRAMMAR, kind) == (
        _second_kind_before_flag(typed, at, GRAMMAR) or _second_kind_at(typed, at, GRAMMAR, kind))


# A hashtag in each form a keyboard types its mark, joined, negated or the citizen's, among the grammar's words.
HASHTAGS = st.sampled_from(["#anonim", "\uff03anonim", "\ufe5fanonim", "#rahasia", "\uff03RAHASIA", "#WBS",
                            "#WBS_Anonim", "#anonim+rahasia", "#anonim+\uff03rahasia", "bukan #rahasia",
                            "#rahasia negara", "#jalanrusak", "##anonim", "a#anonim", "#"])
HASHTAG_TEXT = st.lists(st.tuples(st.one_of(HASHTAGS, GRAMMAR_WORDS), GRAMMAR_GAPS), min_size=1, max_size=6).map(
    lambda pairs: "".join(word + gap for word, gap in pairs))


@settings(max_examples=300, deadline=None)
@given(st.one_of(HASHTAG_TEXT, GRAMMAR_TEXT, HOSTILE_TEXT))
@example("LAPOR jalan rusak \uff03anonim")
@example("\ufe5fanonim kades minta uang")
@example("12345678 foto jalannya \uff03rahasia")
def test_the_hashtags_read_the_same_whether_looked_for_in_every_text_or_only_in_those_with_a_hash_mark(
        text: str) -> None:
    """A text holding no hash mark in any of its forms (`_HASH_MARK`) is not scanned for hashtags: for any text, the
    parse is the one scanning every text gives."""
    typed = clean_text(text)
    gated = parse_text(typed, GRAMMAR)
    with mock.patch.object(keywords, "_HASH_MARK", re.compile("")):  # found in every text: each one scanned
        assert parse_text(typed, GRAMMAR) == gated


def _sms_of(text: str) -> InboundMessage:
    return InboundMessage(channel=Channel.SMS, source="property", provider_message_id="SM1",
                          sender_kind=SenderKind.MSISDN, sender_address="+6281234567890", text=text,
                          received_at=datetime(2026, 11, 22, tzinfo=UTC))


# Long hostile texts, read in linear time: a mention may hold 25 000 characters (X's note_tweet), and each row took
# minutes in an earlier, quadratic form of the grammar.
@pytest.mark.parametrize(("text", "action", "kept"), [
    pytest.param("CEK 1" + " ." * 150_000 + " x", Action.REPORT, "CEK 1" + " ." * 150_000 + " x",
                 id="a-status-word-a-number-and-a-long-run-of-spaces-and-dots"),
    # Our public reply's mark after thousands of @handles: X's handles before a reply copied back are ours, and a
    # pattern for them took 30 s here.
    pytest.param("@lapor1708 " * 8000 + "(ref ", Action.REPORT, ("@lapor1708 " * 8000 + "(ref").strip(),
                 id="handles-and-the-mark-of-our-public-reply"),
    pytest.param("@warga " * 8000 + "Laporan Anda kami terima. Nomor lacak: 10000004. Pantau di "
                 "https://www.lapor.go.id/pengaduan/10000004 (ref K7QX2MPA)", Action.FOLLOW_UP,
                 ("@warga " * 7950).strip(), id="handles-before-our-public-reply"),
    # Help's instruction words, our short code and emoji before a form, repeated: read past in one loop.
    pytest.param("ketik 1708 \U0001f64f Cek status: " * 20_000 + "CEK 10000004", Action.STATUS, "",
                 id="instruction-words-repeated"),
    pytest.param("ketik 1708 \U0001f64f " * 20_000 + "LAPOR ANONIM pungli", Action.REPORT, "pungli",
                 id="a-verb-repeated"),
    pytest.param("Cek status " * 20_000 + "CEK 10000004", Action.STATUS, "", id="a-status-label-without-its-colon"),
    pytest.param("Silakan kirim " * 20_000 + "CEK 10000004", Action.STATUS, "", id="the-status-answers-verb"),
    pytest.param("LAPOR! 1708: " + "ketik 1708 " * 20_000 + "LAPOR ANONIM pungli", Action.REPORT, "pungli",
                 id="helps-header-and-a-verb-repeated"),
    pytest.param("ketik LAPOR " + "jalan " * 50_000 + "kirim ke 1708.", Action.REPORT, ("jalan " * 50_000).strip(),
                 id="a-long-text-before-helps-closing"),
    pytest.param("LAPOR <" + "jalan " * 50_000, Action.REPORT, "<" + ("jalan " * 50_000).strip(),
                 id="a-placeholder-mark-never-closed"),
    # Groups left open: their brackets counted once a message.
    pytest.param("(anonim & rahasia " * 20_000 + "pungli", Action.REPORT, "(anonim & rahasia " * 19_999 + "pungli",
                 id="groups-left-open-repeated"),
    # Flag words joined in one hashtag, read up to the first word that is none.
    pytest.param("pungli " + "#anonim+" * 20_000 + "x", Action.REPORT, "pungli +x", id="a-hashtag-of-joined-flags"),
    # Negated flag words at the end: each looks back one word.
    pytest.param("pungli" + ", bukan ~rahasia~" * 20_000, Action.REPORT, "pungli" + ", bukan ~rahasia~" * 20_000,
                 id="negated-flag-words-repeated"),
    # Flag words struck through beside an anonymity word struck through alike, each looking a few characters about.
    pytest.param("~rahasia~ ~anonim~ " * 20_000 + "pungli", Action.REPORT, "pungli", id="struck-through-pairs-opening"),
    pytest.param("pungli" + " ~anonim~ ~rahasia~" * 20_000, Action.REPORT, "pungli", id="struck-through-pairs-closing"),
    # Marks before a closing flag word read back a run at a time, the citizen's own kept.
    pytest.param("pungli ~x~" + " ~~~~" * 25_000 + " ANONIM", Action.REPORT, "pungli ~x~", id="runs-of-marks-closing"),
    pytest.param("pungli" + " ~rahasia~" * 20_000, Action.REPORT, "pungli", id="struck-through-confidentiality"),
    # A group left open, smileys after it: their brackets counted once a message.
    pytest.param("(anonim pungli" + " :)" * 50_000, Action.REPORT, "pungli" + " :)" * 50_000,
                 id="a-group-left-open-and-smileys"),
    # Negations asked ("bisa gak rahasia") and anonymity words before negated ones: each looks back two words.
    pytest.param("pungli" + ", bisa gak rahasia" * 20_000, Action.REPORT, "pungli" + ", bisa gak rahasia" * 20_000,
                 id="negations-asked-repeated"),
    pytest.param("pungli" + ", anonim, bukan rahasia" * 20_000, Action.REPORT,
                 "pungli" + ", anonim, bukan rahasia" * 20_000, id="anonymity-words-before-negated-ones-repeated"),
    # An aside opening the text read a bounded way: one too long to be a plea is the citizen's.
    pytest.param("(anonim, saya" + " takut" * 50_000 + ") pungli", Action.REPORT,
                 "(anonim, saya" + " takut" * 50_000 + ") pungli", id="a-long-aside"),
    # Anonymity words each after a run of the words that may stand in a wish: each looks back a few words only.
    pytest.param(("secara " * 5 + "anonim ") * 20_000 + "x", Action.REPORT,
                 ("secara " * 5 + "anonim ") * 20_000 + "x", id="anonymity-words-after-runs-of-a-wishs-words"),
    # Statements of secrecy read a clause at a time from its end: statement words joined in one long clause, many
    # short clauses, links before the word, clauses set apart by emoji and dashes.
    pytest.param("pungli. " + "ini rahasia dan " * 20_000 + "x", Action.REPORT,
                 "pungli. " + "ini rahasia dan " * 20_000 + "x", id="statement-words-joined-in-one-clause"),
    pytest.param("pungli. " + "ini rahasia. " * 20_000 + "x", Action.REPORT,
                 "pungli. " + "ini rahasia. " * 20_000 + "x", id="statement-clauses-repeated"),
    pytest.param("pungli. " + "ini sangat " * 20_000 + "rahasia ya " * 20_000 + "x", Action.REPORT,
                 "pungli. " + "ini sangat " * 20_000 + "rahasia ya " * 20_000 + "x", id="statement-links-and-tails"),
    pytest.param("pungli" + " \U0001f64f ini rahasia - x" * 20_000, Action.REPORT,
                 "pungli" + " \U0001f64f ini rahasia - x" * 20_000, id="statements-set-apart-by-emoji-and-dashes"),
    # Flag words, their particles and our short code repeated: the message after our short code is read once, not
    # once a repeat (a 17 kB mail of them raised RecursionError).
    pytest.param("anonim aja. 1708 " * 5000 + "pungli", Action.REPORT, "1708 " + "anonim aja. 1708 " * 4999 + "pungli",
                 id="flag-words-particles-and-our-short-code-repeated"),
    pytest.param("1708 anonim aja. " * 5000 + "CEK 10000004", Action.REPORT,
                 "1708 anonim aja. " * 4999 + "CEK 10000004", id="our-short-code-flag-words-and-particles-repeated"),
    pytest.param("ANONIM ya pak! @lapor1708 " * 4000 + "10000004 jalan", Action.REPORT,
                 "@lapor1708 " + "ANONIM ya pak! @lapor1708 " * 3999 + "10000004 jalan",
                 id="particles-set-apart-and-our-handle-repeated"),
])
def test_a_long_hostile_text_is_read_in_linear_time(text: str, action: Action, kept: str) -> None:
    parsed = parse_text(text, load_grammar())
    assert (parsed.action, parsed.text) == (action, kept)


class _CopyCountingText(str):
    """A text that counts the characters copied out of it by slicing and stripping (`[a:b]`, `strip`, `lstrip`,
    `rstrip`), and hands each copy on counting into the same tally. A loop that copies the rest of the text at each
    word it reads shows as a tally quadratic in the text's length, with no clock: the project has no timed tests."""

    tally: list[int]

    def __new__(cls, value: str, tally: list[int]) -> _CopyCountingText:
        text = super().__new__(cls, value)
        text.tally = tally
        return text

    def _copied(self, value: str) -> str:
        self.tally[0] += len(value)
        return _CopyCountingText(value, self.tally)

    def __getitem__(self, key):  # type: ignore[no-untyped-def, override]
        value = str.__getitem__(self, key)
        return self._copied(value) if isinstance(key, slice) else value

    def strip(self, chars: str | None = None) -> str:
        return self._copied(str.strip(self, chars))

    def lstrip(self, chars: str | None = None) -> str:
        return self._copied(str.lstrip(self, chars))

    def rstrip(self, chars: str | None = None) -> str:
        return self._copied(str.rstrip(self, chars))


# Flag words, their openers, tags and hashtags repeated, at the start of a report, a follow-up or a status query: what
# the grammar reads off a text's start word by word. Copying the rest at each word, "anonim " 20,000 times (150 KB, a
# mail body) cost 0.4 s of CPU, 30 ms a 64 KB webhook; read by position, each is copied a few times at most.
_REPEATS = 1000
_LEADING_FLAGS = [
    pytest.param("anonim " * _REPEATS + "pungli di pasar", (Action.REPORT, True, False, "pungli di pasar"),
                 id="flag-words"),
    pytest.param("mohon anonim, " * _REPEATS + "pungli di pasar", (Action.REPORT, True, False, "pungli di pasar"),
                 id="openers-and-flag-words"),
    pytest.param("#anonim " * _REPEATS + "pungli di pasar", (Action.REPORT, True, False, "pungli di pasar"),
                 id="hashtags"),
    pytest.param("rahasia. " * _REPEATS + "pungli di pasar", (Action.REPORT, False, True, "pungli di pasar"),
                 id="flag-words-and-full-stops"),
    pytest.param("[anonim] " * _REPEATS + "pungli", (Action.REPORT, True, False, "pungli"), id="tags"),
    pytest.param("( anonim & rahasia ) " * _REPEATS + "pungli", (Action.REPORT, True, True, "pungli"),
                 id="groups-spaced-inside-their-marks"),
    pytest.param("(anonim dan rahasia) " * _REPEATS + "pungli", (Action.REPORT, True, True, "pungli"),
                 id="groups-joined-by-dan"),
    pytest.param("LAPOR " + "1708 \U0001f64f anonim " * _REPEATS + "pungli", (Action.REPORT, True, False, "pungli"),
                 id="our-short-code-and-emoji-between-flag-words"),
    pytest.param("LAPOR " + "WBS 1708 " * _REPEATS + "anonim pungli", (Action.REPORT, True, False, "pungli"),
                 id="kind-words-and-our-short-code-before-a-flag-word"),
    pytest.param("LAPOR " + "WBS anonim " * _REPEATS + "pungli", (Action.REPORT, True, False, "pungli"),
                 id="kind-and-flag-words-in-turn"),
    pytest.param("10000004 " + "anonim " * _REPEATS + "jalan masih rusak",
                 (Action.FOLLOW_UP, True, False, "jalan masih rusak"), id="in-a-follow-up"),
    pytest.param("CEK " + "anonim " * _REPEATS + "10000004", (Action.STATUS, True, False, ""),
                 id="in-a-status-query"),
    pytest.param("CEK " + "laporan " * _REPEATS + "10000004", (Action.STATUS, False, False, ""),
                 id="fillers-in-a-status-query"),
    pytest.param("anonim " * _REPEATS + "CEK 10000004", (Action.STATUS, True, False, ""),
                 id="before-a-status-query"),
]


@pytest.mark.parametrize(("text", "parsed"), _LEADING_FLAGS)
def test_leading_flag_words_repeated_are_read_without_copying_the_text_at_each(
        text: str, parsed: tuple[Action, bool, bool, str]) -> None:
    tally = [0]
    got = parse_text(_CopyCountingText(text, tally), load_grammar())
    assert (got.action, got.anonymous, got.confidential, got.text) == parsed
    assert got == parse_text(text, load_grammar())
    assert tally[0] <= 12 * len(text)  # 5 to 8 copies of it now; a copy at each word was 250 (and more, longer)


# The same at the end of a report or a follow-up ("..., anonim" repeated): read back from the end word by word.
_TRAILING_FLAGS = [
    pytest.param(", anonim", "pungli di pasar", {"anonymous"}, id="flag-words"),
    pytest.param(", mohon anonim", "pungli di pasar", {"anonymous"}, id="openers-and-flag-words"),
    pytest.param(", tambah anonim.", "pungli di pasar", {"anonymous"}, id="openers-and-full-stops"),
    # After a plain space the leftmost may be the citizen's words ("... pasar tambah anonim"): all of it stays.
    pytest.param(" tambah anonim.", None, {"anonymous"}, id="after-a-plain-space"),
    pytest.param(", #anonim", "pungli di pasar", {"anonymous"}, id="hashtags"),
    pytest.param(". rahasia", "pungli di pasar.", {"confidential"}, id="flag-words-after-full-stops"),
    pytest.param(", anonim, rahasia", "pungli di pasar", {"anonymous", "confidential"}, id="both-flags"),
    pytest.param(", anonim & rahasia+anonim", "pungli di pasar", {"anonymous", "confidential"}, id="joined-flags"),
]


@pytest.mark.parametrize(("closing", "kept", "flags"), _TRAILING_FLAGS)
def test_closing_flag_words_repeated_are_read_without_copying_the_text_at_each(closing: str, kept: str | None,
                                                                                flags: set[str]) -> None:
    text, tally, found = "pungli di pasar" + closing * _REPEATS, [0], set()
    assert _take_trailing_flags(_CopyCountingText(text, tally), load_grammar(), found) == (kept or text)
    assert found == flags
    # A copy of it at most, and 64 letters a word looked at for a long word's start (`_LETTER_BLOCK`); a copy at each
    # word was 500 times it (and more, longer).
    assert tally[0] <= 12 * len(text)


COURTESY = load_grammar().courtesy
# Every word a courtesy may hold, as `_squeeze` leaves it: a word outside it is something more.
COURTESY_WORDS = COURTESY.vocabulary
COURTESY_PIECES = st.one_of(st.sampled_from(sorted(" ".join(phrase) for phrase in COURTESY.phrases)),
                            st.sampled_from(sorted(COURTESY.fillers | COURTESY.names | COURTESY.emoji)))
COURTESY_GAPS = st.sampled_from([" ", ", ", "! ", "... ", " :) ", " \U0001f600 ", "\n", " @"])


def _squeezed(word: str) -> str:
    return re.sub(r"(\D)\1+", r"\1", word.lower())


@st.composite
def courtesies(draw: st.DrawFn) -> list[str]:
    """A courtesy as pieces: one phrase or courtesy emoji at least, fillers, our names and emoji around it, each piece
    in any case."""
    anchor = draw(st.sampled_from(sorted(" ".join(phrase) for phrase in COURTESY.phrases) + sorted(COURTESY.emoji)))
    pieces = [*draw(st.lists(COURTESY_PIECES, max_size=3)), anchor, *draw(st.lists(COURTESY_PIECES, max_size=3))]
    return [draw(st.sampled_from([piece, piece.upper(), piece.title()])) for piece in pieces]


# Any word of letters, or a number, that a courtesy does not hold: read as the grammar reads words (`fold_word`:
# "ª" is "a" through NFKC, a filler).
OTHER_WORDS = st.one_of(
    st.text(st.characters(categories=["L"]), min_size=1, max_size=12).filter(
        lambda word: not any(_squeezed(token) in COURTESY_WORDS for token in re.findall(r"[^\W_]+", fold_word(word)))),
    st.integers(0, 10**12).map(str).filter(lambda number: number not in COURTESY_WORDS),
)


@SMALL
@given(courtesies(), st.data())
def test_a_courtesy_is_left_unfiled_and_one_more_word_makes_it_the_citizens_message(pieces: list[str],
                                                                                   data: st.DataObject) -> None:
    """Only thanks, fillers, our names, punctuation and emoji are a courtesy; any other word or number, anywhere in
    it, keeps the message a report, a follow-up or a query, as without the courtesy rule."""
    gaps = [data.draw(COURTESY_GAPS) for _ in pieces]
    courtesy = _normalized_sms("".join(piece + gap for piece, gap in zip(pieces, gaps, strict=True)))
    assert courtesy.query is not None and courtesy.query.action is Action.COURTESY, pieces
    at = data.draw(st.integers(0, len(pieces)))
    pieces.insert(at, data.draw(OTHER_WORDS))
    gaps.insert(at, " ")
    more = "".join(piece + gap for piece, gap in zip(pieces, gaps, strict=True))
    result = _normalized_sms(more)
    assert result.query is None or result.query.action is not Action.COURTESY, more


def _normalized_sms(text: str) -> Normalized:
    return normalize(InboundMessage(channel=Channel.SMS, source="property", provider_message_id="SM1",
                                    sender_kind=SenderKind.MSISDN, sender_address="+6281234567890", text=text,
                                    received_at=datetime(2026, 11, 22, tzinfo=UTC)))


@BOUNDED
@given(HOSTILE_TEXT)
@example("e\u200b\u0301")
@example("a\x00\u0308")
def test_clean_text_is_idempotent_nfc_and_control_free(text: str) -> None:
    cleaned = clean_text(text)
    assert not _has_control(cleaned)
    assert unicodedata.is_normalized("NFC", cleaned)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()


# -- the normalizer pipeline over arbitrary inbound messages --------------------------------------------------------
SENDERS = {
    SenderKind.MSISDN: st.one_of(st.sampled_from(["+6281234567890", "081234567890", "6281234567890", "0812 3456 7890",
                                                  "+62 (812) 3456-7890", "1708", "", "abc"]), TEXT),
    SenderKind.EMAIL: st.one_of(st.sampled_from(["Warga@Example.NET", "x@y", "no-at-sign", ""]), TEXT),
    SenderKind.X_USER: st.one_of(st.sampled_from(["1234567890", " ", "@budi"]), TEXT),
    SenderKind.IG_USER: st.one_of(st.sampled_from(["17841400000000001", ""]), TEXT),
}
CHANNEL_OF = {SenderKind.MSISDN: Channel.SMS, SenderKind.EMAIL: Channel.EMAIL, SenderKind.X_USER: Channel.TWITTER,
              SenderKind.IG_USER: Channel.INSTAGRAM}


@st.composite
def inbound_messages(draw: st.DrawFn) -> InboundMessage:
    kind = draw(st.sampled_from(list(SENDERS)))
    attachments = draw(st.lists(st.builds(Attachment, content_type=st.just("image/jpeg"),
                                          location=st.just("https://example.net/m/1")), max_size=2))
    huge = draw(st.booleans())
    text = draw(HOSTILE_TEXT)
    if huge:
        text = text * 2000 + "x" * 100_000
    return InboundMessage(
        channel=CHANNEL_OF[kind], source="property", sender_kind=kind,
        provider_message_id=draw(st.one_of(st.sampled_from(["SM" + "0" * 32, "", "x" * 513]), TEXT)),
        sender_address=draw(SENDERS[kind]), text=text, received_at=datetime(2026, 11, 22, tzinfo=UTC),
        sender_display_name=draw(st.one_of(st.none(), TEXT)), subject=draw(st.one_of(st.none(), HOSTILE_TEXT)),
        attachments=attachments, channel_meta={"any": draw(TEXT)}, incomplete=draw(st.booleans()),
    )


def _message(channel: Channel, sender_kind: SenderKind, sender: str, text: str = "Terima kasih \U0001f44d",
            **fields: object) -> InboundMessage:
    return InboundMessage(channel=channel, source="property", provider_message_id="SM1", sender_kind=sender_kind,
                          sender_address=sender, text=text,
                          received_at=datetime(2026, 11, 22, tzinfo=UTC), **fields)  # type: ignore[arg-type]


@BOUNDED
@given(inbound_messages())
@example(_message(Channel.SMS, SenderKind.MSISDN, "+6281234567890"))
@example(_message(Channel.SMS, SenderKind.MSISDN, "+6281234567890", attachments=[
    Attachment(content_type="image/jpeg", location="https://example.net/m/1")]))
@example(_message(Channel.EMAIL, SenderKind.EMAIL, "warga@example.net", subject="Re: LAPOR #10000009"))
@example(_message(Channel.SMS, SenderKind.MSISDN, "+6281234567890", text="CEK 10000009", attachments=[
    Attachment(content_type="image/jpeg", location="https://example.net/m/1")]))
@example(_message(Channel.TWITTER, SenderKind.X_USER, "1234567890", text="10000008", attachments=[
    Attachment(content_type="image/jpeg", location="https://example.net/m/1")]))
def test_the_normalizer_answers_every_message_with_a_draft_a_query_or_a_typed_rejection(
        message: InboundMessage) -> None:
    assert_accounted_for(message, normalize_or_reject(message))


@BOUNDED
@given(HOSTILE_TEXT)
def test_a_message_with_text_from_a_good_sender_is_never_rejected(text: str) -> None:
    message = InboundMessage(channel=Channel.SMS, source="property", provider_message_id="SM1",
                             sender_kind=SenderKind.MSISDN, sender_address="+6281234567890", text=text,
                             received_at=datetime(2026, 11, 22, tzinfo=UTC))
    result = normalize(message)
    assert_accounted_for(message, result)
    if clean_text(text) and result.query is None:
        assert result.draft is not None


# -- the aggregator's payload decoding ------------------------------------------------------------------------------
BMP_TEXT = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=160)


@BOUNDED
@given(st.sampled_from(["gsm7", "8bit", "ucs2"]), st.one_of(st.text(max_size=300),
                                                         st.binary(max_size=150).map(bytes.hex)))
@example("ucs2", "d800")  # a lone high surrogate
@example("ucs2", "00410")  # an odd number of hex digits
@example("ucs2", "0041 0042")
@example("8bit", "ff00fe")
def test_payload_decoding_never_raises_untyped(coding: str, data: str) -> None:
    try:
        text = decode_payload(coding, data)
    except RejectedInput as error:
        assert error.reason == "bad_hex"
        return
    assert isinstance(text, str)
    text.encode("utf-8")  # no lone surrogate can reach an envelope


@BOUNDED
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=70))
def test_ucs2_and_8bit_round_trip(text: str) -> None:
    if not text.startswith(("\ufeff", "\ufffe")):  # as the first bytes, a byte order mark's: read as one, dropped
        assert decode_payload("ucs2", text.encode("utf-16-be").hex().upper()) == text
    assert decode_payload("ucs2", ("\ufeff" + text).encode("utf-16-be").hex().upper()) == text
    assert decode_payload("ucs2", ("\ufeff" + text).encode("utf-16-le").hex()) == text
    assert decode_payload("8bit", text.encode("utf-8").hex()) == text


@BOUNDED
@given(st.one_of(st.binary(max_size=20).map(bytes.hex), st.text(max_size=30)))
@example("050003")  # truncated element
@example("0500030a02")
@example("ff0003aa0201")  # a length byte longer than the header
def test_udh_parsing_gives_a_typed_answer(udh: str) -> None:
    try:
        concat = parse_udh(udh)
    except RejectedInput as error:
        assert error.reason == "bad_hex"
        return
    if concat is not None:
        reference, total, number = concat
        assert reference.isdigit() and 0 <= total <= 255 and 0 <= number <= 255


@st.composite
def aggregator_fields(draw: st.DrawFn) -> dict[str, str]:
    fields: dict[str, str] = {}
    base = {"id": st.one_of(st.just("a1b2"), TEXT), "from": SENDERS[SenderKind.MSISDN], "to": st.just("1708"),
            "text": HOSTILE_TEXT, "coding": st.sampled_from(["0", "1", "2", "ucs2", "8bit", "gsm7", "9", ""]),
            "udh": st.one_of(st.just("050003a70201"), st.just("0608040001020"), st.binary(max_size=8).map(bytes.hex),
                             TEXT),
            "ref": st.one_of(st.just("7"), TEXT), "parts": st.one_of(st.just("2"), TEXT),
            "part": st.one_of(st.just("1"), TEXT), "ts": st.one_of(st.just("1763800000"), TEXT),
            "smsc": TEXT, "charset": st.one_of(st.sampled_from(["UTF-16BE", "8-BIT", "UTF-8", "UCS-2"]), TEXT)}
    for name, strategy in base.items():
        if draw(st.booleans()) or name in ("id", "from", "text"):
            fields[name] = draw(strategy)
    if fields.get("coding") in ("1", "2", "ucs2", "8bit") and draw(st.booleans()):
        fields["text"] = fields["text"].encode("utf-16-be" if "2" in fields["coding"] else "utf-8",
                                               "surrogatepass").hex()
    return fields


def _request(content_type: str, body: bytes):  # type: ignore[no-untyped-def]
    return make_mocked_request("POST", "/", headers={"Content-Type": content_type}, payload=body)


@BOUNDED
@given(aggregator_fields(), st.booleans())
def test_an_aggregator_callback_becomes_messages_or_a_typed_rejection(
        gateway_settings: Settings, fields: dict[str, str], as_json: bool) -> None:
    adapter = AggregatorSmsAdapter(gateway_settings)
    if as_json:
        body, content_type = orjson.dumps(fields), "application/json"
    else:
        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    try:
        messages = adapter.parse(_request(content_type, body), body)
    except RejectedInput:
        return
    assert len(messages) == 1
    for message in messages:
        assert_accounted_for(message, normalize_or_reject(message))


@BOUNDED
@given(st.binary(max_size=300), st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                 "text/plain"]))
@example(b'{"id": "1", "from": "+62812", "text": "\\ud800"}', "application/json")
@example(b"[1, 2]", "application/json")
@example(b"id=1&from=%2B6281234567890&text=%ED%A0%80", "application/x-www-form-urlencoded")
@example(b"id=1&from=%2B6281234567890&coding=2&charset=UTF-16BE&text=%D8%3D&udh=%05%00%03%01%02%01",
         "application/x-www-form-urlencoded")
@example(b"id=1&from=%2B6281234567890&coding=1&text=%00%FF&udh=%05", "application/x-www-form-urlencoded")
def test_arbitrary_callback_bodies_get_a_typed_answer(gateway_settings: Settings, body: bytes,
                                                      content_type: str) -> None:
    for adapter in (AggregatorSmsAdapter(gateway_settings), TwilioSmsAdapter(gateway_settings)):
        try:
            messages = adapter.parse(_request(content_type, body), body)
        except RejectedInput:
            continue
        for message in messages:
            assert_accounted_for(message, normalize_or_reject(message))


@BOUNDED
@given(st.dictionaries(st.sampled_from(["MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MediaUrl0",
                                        "MediaContentType0", "MediaUrl9"]),
                       st.one_of(TEXT, NASTY, st.sampled_from(["+6281234567890", "3", "-1", "99999999999",
                                                               "SM" + "0" * 32, "MM" + "f" * 32])),
                       max_size=9))
def test_a_twilio_form_becomes_messages_or_a_typed_rejection(gateway_settings: Settings,
                                                             form: dict[str, str]) -> None:
    # Over Twilio's identifiers (refused in any other shape), so that the hostile values reach the parser behind them.
    body = urlencode({"MessageSid": "SM" + "0" * 32, "AccountSid": "AC" + "1" * 32, **form}).encode()
    try:
        messages = TwilioSmsAdapter(gateway_settings).parse(_request("application/x-www-form-urlencoded", body),
                                                            body)
    except RejectedInput:
        return
    for message in messages:
        assert_accounted_for(message, normalize_or_reject(message))


FORM_PIECES = st.lists(st.one_of(st.sampled_from(["&", "=", "+", "%", "%2", "%20", "%2B", "%E2%82%AC", "%ED%A0%80",
                                                 "%zz", ";", "a", "Body", "\u20ac", " "]), st.text(max_size=8)),
                       max_size=30).map("".join)


@BOUNDED
@given(st.one_of(FORM_PIECES, st.dictionaries(TEXT, TEXT, max_size=6).map(urlencode)))
@example("a=1&&b&=c&d==e&+=%2B&x=%")
def test_the_form_parser_reads_every_body_as_parse_qsl_does(body: str) -> None:
    """The webhooks' own form parser (faster than parse_qsl) gives exactly parse_qsl's pairs, blanks kept."""
    assert parse_form(body.encode()) == parse_qsl(body, keep_blank_values=True)


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "cp1252", "utf-16"])
@pytest.mark.parametrize("body", ["Body=caf%E9+%2B1&From=%2B6281234567890", "Body=%E2%82%AC+%zz%ED%A0%80&x=%",
                                  "Body=caf\u00e9+%C3%A9&a=%41"])
def test_the_form_parser_reads_a_body_in_any_charset_as_parse_qsl_does(body: str, charset: str) -> None:
    """Read in the Content-Type's charset (an aggregator's Latin-1), the %-escapes too: parse_qsl's pairs."""
    raw = body.encode(charset)
    assert parse_form(raw, charset) == parse_qsl(raw.decode(charset), keep_blank_values=True, encoding=charset)


def test_a_form_body_that_is_not_utf8_is_refused_with_a_typed_error() -> None:
    with pytest.raises(RejectedInput, match="UTF-8") as refused:
        parse_form(b"Body=caf\xe9&From=%2B6281234567890")
    assert refused.value.reason == "bad_encoding"


# -- the MIME parser ----------------------------------------------------------------------------------------------
def _mail_outcome(raw: bytes) -> None:
    """parse_mail, then the InboundMessage the processor builds, then the normalizer: typed answers only."""
    try:
        mail = parse_mail(raw)
    except RejectedInput as error:
        assert error.reason
        return
    assert "@" in mail.sender_address
    for value in (mail.subject, mail.text, mail.sender_address, mail.sender_name or "", mail.message_id or "",
                  mail.reply_to or "", *mail.references, *mail.in_reply_to,
                  *(a.name or "" for a in mail.attachments), *(a.content_type for a in mail.attachments)):
        value.encode("utf-8")  # no lone surrogate from undeclared 8-bit bytes may reach an envelope
    message = InboundMessage(
        channel=Channel.EMAIL, source="email-smtp", provider_message_id=provider_message_id(mail, raw),
        sender_kind=SenderKind.EMAIL, sender_address=mail.sender_address, sender_display_name=mail.sender_name,
        text=mail.text or mail.subject, received_at=datetime(2026, 11, 22, tzinfo=UTC), subject=mail.subject or None,
        attachments=[Attachment(content_type=a.content_type, name=a.name, location="attachments/x")
                     for a in mail.attachments],
        channel_meta={"message_id": mail.message_id, "references": mail.references},
    )
    assert_accounted_for(message, normalize_or_reject(message))


@SMALL
@given(st.binary(max_size=2000))
@example(b"From: a@b.c\r\n\r\n")
@example(b"From: =?utf-8?b?////?= <a@b.c>\r\nSubject: \xff\xfe\r\n\r\nx")
@example(b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--")
@example(b"From: a@b.c\r\nContent-Type: text/plain; charset=\"\xff\"\r\n\r\n\xe9t\xe9")
@example(b"From: a@b.c\r\nContent-Type: text/plain; charset=\"wind\x00ows-1252\"\r\n\r\n\xe9t\xe9")
@example(b"From: a@b.c\r\nContent-Disposition: attachment; filename=\"\xe9\xff.txt\"\r\n"
         b"Content-Type: application/octet-stream\r\n\r\nxx")
def test_arbitrary_bytes_are_a_mail_or_a_typed_rejection(raw: bytes) -> None:
    _mail_outcome(raw)


def _mutate(raw: bytes, seed: int, operations: int) -> bytes:
    """Byte flips, truncation, duplicated and deleted spans, inserted CR/LF/NUL/8-bit bytes and boundaries."""
    rng = random.Random(seed)
    data = bytearray(raw)
    for _ in range(operations):
        if not data:
            break
        position = rng.randrange(len(data))
        choice = rng.randrange(6)
        if choice == 0:
            data[position] = rng.randrange(256)
        elif choice == 1:
            del data[position:]
        elif choice == 2:
            end = min(len(data), position + rng.randrange(1, 200))
            data[position:position] = data[position:end]
        elif choice == 3:
            del data[position:position + rng.randrange(1, 50)]
        elif choice == 4:
            data[position:position] = rng.choice([b"\r\n", b"\n\n", b"\x00", b"\xff\xfe", b"=?utf-8?q?=E9?=",
                                                  b"\r\n--", b"; charset=\"x-unknown\"", b"\xe9\xe8"])
        else:
            data[position:position] = b"\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n"
    return bytes(data)


@SMALL
@given(st.sampled_from(EMAIL_FIXTURES), st.integers(0, 2**32), st.integers(1, 8))
def test_mutated_real_mail_is_a_mail_or_a_typed_rejection(path: Path, seed: int, operations: int) -> None:
    _mail_outcome(_mutate(path.read_bytes(), seed, operations))


@SMALL
@given(st.sampled_from(EMAIL_FIXTURES), st.integers(0, 2**32), st.integers(0, 8), st.integers(1, 6))
@example(FIXTURES / "email" / "dsn_gmail_other.eml", 0, 0, 4)  # 3 delimiter lines, 5 parts (delivery-status blocks)
def test_with_a_part_limit_mutated_mail_has_at_most_that_many_parts_or_a_typed_rejection(
        path: Path, seed: int, operations: int, limit: int) -> None:
    """The parse counts every part it makes: no mail of more parts than the limit gets through."""
    raw = _mutate(path.read_bytes(), seed, operations)
    try:
        mail = parse_mail(raw, limit)
    except RejectedInput as error:
        assert error.reason
        return
    assert sum(1 for _ in mail.message.walk()) <= limit


@pytest.mark.parametrize("path", EMAIL_FIXTURES, ids=[p.stem for p in EMAIL_FIXTURES])
def test_every_real_fixture_parses_to_an_accounted_outcome(path: Path) -> None:
    _mail_outcome(path.read_bytes())


@BOUNDED
@given(st.binary(max_size=300), st.one_of(st.none(), st.sampled_from(["utf-8", "iso-8859-1", "x-bogus", "utf-16",
                                                                       "iso-2022-jp", "", "us-ascii"])))
def test_decode_text_never_fails_and_never_leaves_surrogates(data: bytes, charset: str | None) -> None:
    decode_text(data, charset).encode("utf-8")


@BOUNDED
@given(st.binary(max_size=200))
def test_header_text_never_fails(value: bytes) -> None:
    message = parse_bytes(b"Subject: " + value.replace(b"\r", b"").replace(b"\n", b" ") + b"\r\nFrom: a@b.c\r\n\r\n")
    header_text(message, "Subject").encode("utf-8")
