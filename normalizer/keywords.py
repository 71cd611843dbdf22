"""The keyword grammar: what a citizen typed at the start of a message, and what it asks for.

The tables live in `config/keywords.toml`. Parsing is a pure function of the text and the grammar, so each
rule has its own table of test cases.

Here: `parse_text` and the parse of a message's leading keywords (kind and flag words, tags and hashtags, our short
code and handle, commands, status queries and follow-ups, flags at the end). Its parts read by other modules too live
beside it, each importing only the ones listed before it: `normalizer/tokens.py` (the marks and folded tokens),
`normalizer/grammar.py` (the tables, `load_grammar`, `ParsedText`), `normalizer/flags_in_words.py` (anonymity and
confidentiality asked in words), `normalizer/small_talk.py` (thanks, greetings, opt-out and opt-in, the language)
and `normalizer/our_replies.py` (our replies sent back).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache

import phonenumbers

from gateway.replies import load_replies, reply_templates
from gateway.tracking import MIN_LENGTH, is_valid_tracking_id, looks_like_tracking_id, normalize_tracking_id
from normalizer.envelope import ReportKind
from normalizer.flags_in_words import (
    _PIPES,
    _asks_in_a_clause,
    _asks_in_a_phrase,
    _asks_no_flag_in_words,
    _fills_a_closing_name_line,
    _fills_a_name_line,
    _folded_words,
    _leaves_the_name_blank,
    _pleads_in_an_aside,
    _states_in_a_clause,
    _wishes_anonymity,
    _wishes_confidentiality,
    _with_kind_word_before,
    statement_breaks,
)
from normalizer.grammar import Action, Grammar, Instruction, Introduces, ParsedText, WordTable, load_grammar
from normalizer.our_replies import (
    _PUBLIC_REPLY_MARK,
    _TYPED_ID_REPLY_KEYS,
    PUBLIC_REPLY_KEYS,
    SMS_REPLY_KEYS,
    _our_answer_marks,
    _our_answer_sent_back,
    _our_replies,
    _without_trailing_handles,
)
from normalizer.small_talk import (
    _only_greeting_or_thanks,
    _only_short_message_words,
    _thanks_for_what_was_done,
    detect_language,
    is_courtesy,
    is_greeting,
    is_opt_in,
    is_opt_out,
)
from normalizer.text import DASHES, HASH, fold_word, with_compatibility_forms
from normalizer.tokens import (
    _AFTER_QUESTION,
    _CLOSING_QUESTION,
    _QUESTION,
    _TAG_CLOSE,
    _TAG_CLOSE_CHARS,
    _TAG_OPEN,
    _TAG_OPEN_CHARS,
    _TAG_PAIRS,
    _TOKENS,
    _WORDS,
    _first_folded_tokens,
    _folded_tokens,
    _paired,
    _squeeze,
)

# Fullwidth and other compatibility forms of our punctuation ("＃", "－", "：", "？") count as their ASCII forms in
# every set below, and words are looked up folded (`fold_word`: "ｃｅｋ" is "cek"), so a fullwidth keyboard's
# "ｃｅｋ＃１００００００４" is a status query; what is kept of the text is as typed.
# "&" too, as "dan" is written between two flag words ("RAHASIA & ANONIM", "ANONIM&RAHASIA"): the second was the
# citizen's word, and an anonymity asked for was missed. "+" only before a letter ("ANONIM+RAHASIA", "ANONIM +
# RAHASIA"): before a digit it opens a number ("LAPOR +62812...").
_SEPARATOR_SET = "".join(map(re.escape, with_compatibility_forms(":.,;!?-=/&"))) + "–—"
_PLUS_CHARS = with_compatibility_forms("+")
_PLUS = "".join(map(re.escape, _PLUS_CHARS))
# A hash mark glued to a leading word sets it apart as a separator does: SMS services in Indonesia have their fields
# typed joined by "#" ("REG#...", "LAPOR#ANONIM#<isi>", "TAMBAHAN#<id>#<isi>"). Only glued: after a space a "#" opens
# the citizen's hashtag, kept as typed. Before a word of theirs the readers of kind and flag words and of our short
# code take it back (`_glued_hash_end`: "LAPOR#SaveKPK ...", "Rahasia#Negara bocor"), and the particles' reader takes
# it for no punctuation (`_past_flag_particles_at`).
_SEPARATORS = (rf"(?:[{HASH}]+)?[\s{_SEPARATOR_SET}]*"
               rf"(?:[{_PLUS}](?=[\s{_SEPARATOR_SET}]*[^\W\d_])[\s{_SEPARATOR_SET}]*)*")
# A leading word: optional '#', letters (or a lone '?'), then any run of separators people type after it ("?" too:
# "Bantuan?", "CEK?" ask for help as "Bantuan" and "CEK" do). Letters joined by "_" are one word, as a keypad or a
# hashtag habit joins a kind and a flag word ("LAPOR_ANONIM": a flag word of its own in the tables). Matched at a
# position, with no "^": the loops reading words off a text's start copy none of it.
_LEADING_WORD = re.compile(rf"\s*[{HASH}]?(?P<word>[^\W\d_]+(?:_[^\W\d_]+)*"
                           rf"|[{re.escape(with_compatibility_forms('?'))}])(?P<sep>{_SEPARATORS})", re.UNICODE)
# A word anywhere (`_LEADING_WORD` from a position, letters only): one of help's instruction words (`[instructions]`).
_WORD_AT = re.compile(rf"\s*[{HASH}]?(?P<word>[^\W\d_]+)(?P<sep>[\s{_SEPARATOR_SET}]*)", re.UNICODE)
# Letters joined by "_" are one tag, as in a leading word ("#WBS_Anonim", "#Laporan_Anonim"). What a "+" joins to it
# (`joined`: "#anonim+rahasia", "#anonim+#rahasia") is the tag's when every word of it is a flag word
# (`_read_hashtag`): read as "#anonim" alone, "+rahasia" was left in the text and its flag unread.
_HASHTAG = re.compile(rf"(?<![\w{HASH}])[{HASH}](?P<tag>[^\W\d_]+(?:_[^\W\d_]+)*)"
                      rf"(?P<joined>(?:[{_PLUS}][{HASH}]?[^\W\d_]+(?:_[^\W\d_]+)*)*)\b", re.UNICODE)
# A hash mark in any of its forms: a text without one (most reports) holds no hashtag, and `_HASHTAG`, whose scan
# tries its lookbehind at every character, is not run over it: two scans of a report cost a fifteenth of its parse.
_HASH_MARK = re.compile(f"[{HASH}]")
# One word a "+" joins to a tag, in its `joined`.
_JOINED_TAG = re.compile(rf"[{_PLUS}][{HASH}]?(?P<tag>[^\W\d_]+(?:_[^\W\d_]+)*)", re.UNICODE)
# What joins a negation to the flag word as one word does ("non-rahasia").
_HYPHENS = with_compatibility_forms("-") + "\u2010\u2011"
_WRAPPED_WORD = re.compile(rf"\s*(?P<open>[{_TAG_OPEN}])(?P=open)?\s*[{HASH}]?(?P<word>[^\W\d_]+)\s*"
                           rf"(?P<close>[{_TAG_CLOSE}])(?P=close)?"
                           rf"(?!\w)(?P<sep>{_SEPARATORS})", re.UNICODE)
# Several flag words in one pair of marks ("(anonim & rahasia)", "[ANONIM, RAHASIA]", "*ANONIM RAHASIA*"): each was
# the citizen's word, and the whistleblower's number reached the agency. Read word by word: the group's first word
# after its opening mark (`_FLAG_GROUP`, the whole group checked to hold flag words only), the last before its closing
# mark (`_GROUP_LAST`, the group checked back to its opening mark), any between as words set apart.
_GROUP_JOIN = rf"(?:\s*[{_SEPARATOR_SET}{_PLUS}]\s*|\s+)"
_FLAG_GROUP = re.compile(rf"\s*(?P<open>[{_TAG_OPEN}])(?P=open)?\s*"
                         rf"(?P<words>[{HASH}]?[^\W\d_]+(?:{_GROUP_JOIN}[{HASH}]?[^\W\d_]+){{1,4}})\s*"
                         rf"(?P<close>[{_TAG_CLOSE}])(?P=close)?(?!\w)", re.UNICODE)
_GROUP_LAST = re.compile(rf"\s*[{HASH}]?(?P<word>[^\W\d_]+)\s*(?P<close>[{_TAG_CLOSE}])(?P=close)?(?!\w)"
                         rf"(?P<sep>{_SEPARATORS})", re.UNICODE)
_GROUP_FIRST = re.compile(rf"[{HASH}]?(?P<word>[^\W\d_]+){_GROUP_JOIN}", re.UNICODE)
_GROUP_BEFORE = re.compile(rf"(?P<open>[{_TAG_OPEN}])(?P=open)?\s*"
                           rf"(?P<words>(?:[{HASH}]?[^\W\d_]+{_GROUP_JOIN}){{1,4}})\Z", re.UNICODE)
# How far back from a group's last word its opening mark is looked for: five flag words and what joins them.
_GROUP_LOOK_BACK = 120
# A bracket opening a group that is never closed ("[ANONIM, RAHASIA pungli di ...", "(anonim & rahasia pungli ..."):
# brackets only, as a mark typed the same on both sides ("*", "~", quotes) cannot tell it is left open.
_UNCLOSED_OPENINGS = with_compatibility_forms("([<") + "【"
_UNCLOSED_OPEN = re.compile(rf"\s*(?P<open>[{re.escape(_UNCLOSED_OPENINGS)}])(?P=open)?\s*", re.UNICODE)
# "1000-0004", "1.000.0004", "1000–0004" (any of `DASHES`: autocorrect makes an en dash of "-")
_ID_GROUPING = "".join(map(re.escape, with_compatibility_forms(".") + DASHES))
_ID_RUN = rf"\d[\d\s{_ID_GROUPING}]{{4,20}}\d"
_LEADING_ID = re.compile(rf"^\s*[{HASH}]?(?P<id>{_ID_RUN})(?=\D|$)")
# The same run anywhere: a text without one holds no Tracking ID any reading of one typed first or named finds.
_ANY_ID_RUN = re.compile(_ID_RUN)
# What people type between a Tracking ID and the text that follows it: "12345678: ...", "12345678 - ...", an SMS
# template's pipe ("12345678|ANONIM|foto": kept, the addition's text opened with a stray "|").
_ID_CLOSE = with_compatibility_forms(" \t\n:.,;!") + DASHES + "—" + _PIPES
# What people put around an ID: quotes, brackets, WhatsApp's bold ("CEK (12345678)", "CEK <12345678>", "*12345678*").
_ID_OPEN = with_compatibility_forms(" \t\n\"'*(<[{") + "«“‘"
# Our short code or handle first ("1708 CEK ...", "@lapor1708: ..."), and the separators after it (a "#" glued to it
# before a keyword or an ID too, as after a leading word: "1708#CEK#<id>", `_glued_hash_end`).
_LEADING_NAME = re.compile(rf"\s*[{with_compatibility_forms('@')}]?(?P<name>[^\W_]+)"
                           rf"(?P<sep>(?:[{HASH}]+)?[\s{_SEPARATOR_SET}]*)", re.UNICODE)
# A hash mark glued to a leading word or our short code, and the separators after it ("ANONIM#<isi>", "ANONIM# <isi>").
_GLUED_HASH = re.compile(rf"[{HASH}]+(?P<sep>[\s{_SEPARATOR_SET}]*)", re.UNICODE)
# What makes a "#" a keycap emoji ("#️⃣"): an emoji glued to the word, kept as typed, as after a space.
_KEYCAP = "\ufe0f\u20e3"
# What sets a leading name or word apart from what follows when glued to it, as a separator would ("1708🙏ANONIM",
# "LAPOR🙏ANONIM", "@lapor1708❤️CEK"): an emoji's symbol (a pictograph, a regional indicator, a skin tone), which
# `_after_leading_symbols` then reads past as it does after a space. A digit or letter never does ("17080", "1708an"
# are other words), nor a variation selector or joiner on its own.
_GLUED_SYMBOLS = frozenset({"So", "Sk"})
# What follows a status command when it is a number and nothing else ("CEK 12345", "cek no. 1234-56"). The number's
# run is possessive (`*+`): the spaces and dots it shares with the closing marks are never given back one by one, which
# took time quadratic in the text ("CEK 1 . . . x", a long mention: seconds).
_ONLY_A_NUMBER = re.compile(rf"\s*[{HASH}]?\d[\d\s{_ID_GROUPING}]*+"
                            rf"[\s{''.join(map(re.escape, with_compatibility_forms('.!?')))}]*")
# An ID typed straight after a status command, with no space: "cek#12345678", "CEK12345678".
_GLUED_ID = re.compile(rf"[{HASH}]?\d")
# Numbers that open a complaint and are no Tracking ID: a date ("17-08-2025", "17.08.2025", "17–08–2025") or an amount
# written with thousands dots ("1.500.000"). Tracking IDs are shown as one run of digits.
_DOTS = "".join(map(re.escape, with_compatibility_forms(".")))
_DATE_MARKS = "".join(map(re.escape, with_compatibility_forms("./") + DASHES))
_DATE = re.compile(rf"\d{{1,2}}([{_DATE_MARKS}])\d{{1,2}}\1\d{{2,4}}")
_AMOUNT = re.compile(rf"\d{{1,3}}(?:[{_DOTS}]\d{{3}})+")
# A date or a time of day opening a text, too short for `_LEADING_ID` ("17/8/25", "10.30", "10:30"): flag words after
# it are read as after a number (`_flags_after_a_leading_id`).
_COLONS = "".join(map(re.escape, with_compatibility_forms(":")))
_LEADING_DATE_OR_TIME = re.compile(rf"\s*[{HASH}]?(?:{_DATE.pattern}|\d{{1,2}}[{_DOTS}{_COLONS}]\d{{2}})"
                                   rf"(?!\d|[{_DATE_MARKS}{_COLONS}]\d)")
# A number opening a text typed in words or spaced apart (`_number_in_words_end`): a currency before it glued or not
# ("Rp 15.000.000", "Rp.15.000.000,-", "IDR 500rb"), its digits and their marks (a unit glued to them: "500rb"), and
# each word or number after it.
_CURRENCY_BEFORE = re.compile(rf"[{HASH}]?(?P<word>[^\W\d_]+)[{_DOTS}]?\s*(?=\d)", re.UNICODE)
_NUMBER_TOKEN = re.compile(rf"\d(?:[\d{_DOTS},]*\d)?(?:,-)?(?P<unit>[^\W\d_]+)?(?![^\W_])", re.UNICODE)
_LEADING_NUMBER = re.compile(rf"[{HASH}]?{_NUMBER_TOKEN.pattern}", re.UNICODE)
_NUMBER_PART = re.compile(rf"\s+(?:(?P<number>{_NUMBER_TOKEN.pattern})|(?P<word>[^\W\d_]+)[{_DOTS}]?(?![^\W_]))",
                          re.UNICODE)
# A year of a date typed with spaces ("17 08 2025", "2025 08 17"; `_spaced_date_at`).
_YEAR = re.compile(r"(?:19|20)\d\d")
# An Indonesian number written without its plus ("6281234567890"); a Tracking ID this long and starting so would
# need billions of reports.
_PHONE_WITHOUT_PLUS = re.compile(r"62\d{9,12}")
# The fewest digits of an Indonesian phone number written with its 0 ("0812345678"): a shorter group opening with 0
# is part of an ID typed apart ("10 000004").
_PHONE_DIGITS = 9
_SPACE_RUNS = re.compile(r"[ \t]{2,}")
# Around a flag word at the end: the closing marks after it and the separators before it ("... kelurahan, ANONIM!").
# A tag's marks too ("... [ANONIM]", "... *anonim*"); not "_", which joins the words of a handle ("@budi_rahasia").
_TRAILING_CLOSE = with_compatibility_forms(" \t\n.!)]*>~") + "】"
_TRAILING_OPEN = with_compatibility_forms(" \t\n,;:-([*<~") + "–—【"
# Of those, the marks that open and close a word alike (bold, strikethrough): `_opening_marks_end`.
_SYMMETRIC_MARKS = with_compatibility_forms("*~")
# What joins two flag words at the end besides those ("... (anonim & rahasia)", "... ANONIM+RAHASIA"): read back past
# only when a flag word stands before it, so "... jabatan & rahasia" keeps its "&".
_TRAILING_JOIN = with_compatibility_forms(" \t&+")
_SENTENCE_END = tuple(with_compatibility_forms(".!?"))
# What separates a kind or flag word from the text after it, taken off the text's start.
_TEXT_OPEN = with_compatibility_forms(" \t\n:.,;-")


def _asks_how_to_report(text: str, grammar: Grammar, language: str) -> ParsedText | None:
    """Help, when the text only wishes to report or asks how to (`[how_to_report]`: "mau lapor", "bagaimana cara
    lapor?", "gimana caranya lapor anonim?", "How do I report?"), its flag words kept for a photo sent with it; else
    None. Filed, each was a case of its words acknowledged as a report. A loop that stops at the first other word:
    most messages name something at their first or second word."""
    flags: set[str] = set()
    reports, asks = False, False
    for count, word in enumerate(_folded_tokens(text), 1):
        if count > grammar.how_to_report_max_words or (
                word not in grammar.how_to_report and (word := _squeeze(word)) not in grammar.how_to_report):
            return None
        reports = reports or word in grammar.how_to_report_reports
        asks = asks or word in grammar.how_to_report_asks
        if word in grammar.flags:
            flags.add(grammar.flags[word])
    if not (reports and asks):
        return None
    # Anonymity asked in its words too ("Saya mau lapor, tapi takut ketahuan"): a photo sent with it is its report.
    asked = _with_flags_asked_in_words(ParsedText(action=Action.REPORT, text=text, language=language,
                                                  anonymous="anonymous" in flags,
                                                  confidential="confidential" in flags), grammar, text)
    return ParsedText(action=Action.HELP, text="", language=language, anonymous=asked.anonymous,
                      confidential=asked.confidential)


def _is_punctuation(text: str) -> bool:
    """Only punctuation and spaces ("?", " ?!", "..."): nothing a report or a follow-up could hold."""
    return all(unicodedata.category(char).startswith("P") or char.isspace() for char in text)


def _set_apart(text: str, end: int, sep: str) -> bool:
    """Whether a leading name or word ending at `end` stands on its own: separators after it (`sep`), the text's end,
    or an emoji glued to it (`_GLUED_SYMBOLS`). Missed, "1708🙏ANONIM ..." was a named report of the whole text
    where "1708 🙏 ANONIM ..." was an anonymous one."""
    return bool(sep) or end == len(text) or unicodedata.category(text[end]) in _GLUED_SYMBOLS


def _glued_hash_end(text: str, end: int, grammar: Grammar, *, keeps_hashtag: bool = False) -> int | None:
    """Where a leading word or our short code ending at `end`, a "#" glued to it, is set apart by that "#"
    (`_GLUED_HASH`: SMS services in Indonesia have their fields typed joined by it, "REG#...", "LAPOR#ANONIM#<isi>",
    "1708#CEK#<id>"); None when no "#" is glued there, or it opens a word of the citizen's. Set apart: before one of
    our keywords or commands, an ID, spaces or the text's end (past the "#" and its separators); before a keycap
    (`_KEYCAP`: an emoji, kept); after an anonymity or kind word (`keeps_hashtag`) before a word of theirs, at the
    "#": the word is read and the hashtag kept ("ANONIM#SaveKPK ...", "LAPOR#SaveKPK ...": "#SaveKPK ..."; as a
    separator it lost its "#", and a number withheld once too often is the safe error). After a confidentiality word
    or our short code the "#" and the word are the citizen's ("Rahasia#Negara bocor" as "Rahasia+Negara bocor": read,
    the report was confidential)."""
    match = _GLUED_HASH.match(text, end)
    if match is None:
        return None
    after = match.end()
    if after == len(text) or match.group("sep") or text[after].isdigit():
        return after
    if text[end + 1:end + 2] in _KEYCAP and text[end + 1:end + 2]:
        # A keycap emoji ("#️⃣") is kept, unless a word of ours or an ID follows it: read past ("LAPOR#️⃣ANONIM ...",
        # "ANONIM#️⃣<id>"); kept, the ANONIM was the citizen's word and their number reached the agency.
        keycap = end + 1
        while keycap < len(text) and text[keycap] in _KEYCAP:
            keycap += 1
        return keycap if text[keycap:keycap + 1].isdigit() or _our_word_at(text, keycap, grammar) else end
    if _our_word_at(text, after, grammar):
        return after
    return end if keeps_hashtag else None


# A word after the marks that may open a tag or a group before it ("(anonim)", "[ANONIM, RAHASIA]", "#anonim"), or
# our handle's "@".
_MARKED_WORD = re.compile(rf"[{_TAG_OPEN}{HASH}{with_compatibility_forms('@')}]*(?P<word>[^\W\d_]+(?:_[^\W\d_]+)*)",
                          re.UNICODE)


def _our_word_at(text: str, at: int, grammar: Grammar) -> bool:
    """Whether a word a leading reader of the grammar reads opens `text` at `at` (`_a_word_of_ours`)."""
    marked = _MARKED_WORD.match(text, at)
    return marked is not None and _a_word_of_ours(fold_word(marked.group("word")), grammar)


def _flag_or_particle_at(text: str, at: int, grammar: Grammar) -> bool:
    """Whether a flag word opens `text` at `at`, or a particle, term of address, greeting, kind word or our handle
    with a flag word after it: what the leading readers go on with after a spelled space ("LAPOR spasi pak ANONIM
    ...", "LAPOR spasi halo, ANONIM ...", "LAPOR spasi @lapor1708 ANONIM ..."). Not such a word alone: they are a
    citizen's too, and "REPORT space there is no ramp", "REPORT space admin fees are illegal" lost their first word."""
    name = _LEADING_NAME.match(text, at)  # our handle, its digits with it ("@lapor1708")
    if name is not None and name.start("name") > at and fold_word(name.group("name")) in grammar.addressed_to:
        word, end = fold_word(name.group("name")), name.end("name")
    elif (first := _MARKED_WORD.match(text, at)) is not None:
        word, end = fold_word(first.group("word")), first.end()
    else:
        return False
    if word in grammar.flags:
        return True
    if not (word in grammar.flag_particles or word in grammar.calls or word in grammar.greeting_words
            or word in grammar.kinds or word in grammar.addressed_to):
        return False
    after = _MARKED_WORD.match(text, _WORD_GAP.match(text, end).end())
    return after is not None and fold_word(after.group("word")) in grammar.flags


# The spaces and marks between two words ("halo, ANONIM"), up to a word's own marks ("#anonim", "@lapor1708").
_WORD_GAP = re.compile(rf"[^\w{HASH}{with_compatibility_forms('@')}]*", re.UNICODE)


def _a_word_of_ours(word: str, grammar: Grammar) -> bool:
    """Whether a leading reader of the grammar reads `word` (`_glued_hash_end`: a "#" before it is a separator): a
    kind, flag, command or help word, a particle, a term of address or greeting, an addition's label, a word
    introducing a flag, a spelled space, our handle, one of help's instruction words. Missed, "LAPOR#(anonim) ...",
    "RAHASIA#(anonim) ..." were named, "ANONIM#pak#<id> ..." a new report, not an addition."""
    return (word in grammar.kinds or word in grammar.flags or word in grammar.status_words or word in grammar.help_words
            or word in grammar.flag_particles or word in grammar.calls or word in grammar.greeting_words
            or word in grammar.follow_up_words or word in grammar.flag_openers
            or word in grammar.flag_openers_after_keywords or word in grammar.spelled_spaces
            or word in grammar.addressed_to or word in grammar.instructions)


def _without_our_address(text: str, grammar: Grammar) -> str | None:
    """The text after our short code or handle typed first ("1708 CEK 12345678" -> "CEK 12345678"), every one of
    them if repeated; None when the text does not open with one."""
    at = _past_our_address_at(text, 0, grammar)
    return text[at:] if at else None


def _past_our_address_at(text: str, at: int, grammar: Grammar) -> int:
    """Where our short codes or handles typed at `at` end (`_without_our_address` from a position); `at` when none is
    typed there."""
    while (match := _LEADING_NAME.match(text, at)) and fold_word(match.group("name")) in grammar.addressed_to and (
            (end := _our_address_end(text, match, grammar)) is not None):
        at = end
    return at


def _our_address_end(text: str, name: re.Match[str], grammar: Grammar) -> int | None:
    """Where our short code or handle `name` (`_LEADING_NAME`) and what sets it apart end; None when it is glued to
    what follows ("17080", "1708an", "1708#<a word of theirs>")."""
    if name.group("sep")[:1] in HASH and name.group("sep"):
        return _glued_hash_end(text, name.end("name"), grammar)
    return name.end() if _set_apart(text, name.end(), name.group("sep")) else None


# Only spaces, or nothing, up to the text's end (as `not text[at:].strip()`, without the copy).
_BLANK_TO_END = re.compile(r"\s*\Z")


def _blank_from(text: str, at: int) -> bool:
    """Whether `text` holds only spaces from `at` on: `not text[at:].strip()` without copying what follows `at`."""
    return _BLANK_TO_END.match(text, at) is not None


def _take_leading_word(text: str) -> tuple[str, str, bool]:
    """(the first word folded as the tables hold it (`fold_word`), the rest, whether it stands on its own
    (`_set_apart`): a separator or a glued emoji after it, or the text's end)."""
    word, end, separated = _leading_word_at(text, 0)
    return word, text[end:], separated


@lru_cache(maxsize=16)
def _leading_word_at(text: str, at: int) -> tuple[str, int, bool]:
    """`_take_leading_word` from a position: (the word folded, where it and the separators after it end, whether it
    stands on its own); ("", `at`, False) when no word opens there. A position, not the rest of the text: the loops
    that read flag words and fillers off a text's start slice it once, at their end. Copying the rest each turn made a
    text of repeated flag words ("anonim " 20,000 times) cost time quadratic in its length.

    Cached: the readers of a message's leading words (kind and flag words, the words introducing a flag, a second
    kind, commands, greetings) ask for the same word three times and more."""
    match = _LEADING_WORD.match(text, at)
    if not match:
        return "", at, False
    return fold_word(match.group("word")), match.end(), _set_apart(text, match.end(), match.group("sep"))


def _leading_keyword_at(text: str, at: int, grammar: Grammar, explicit: bool,
                        after_keyword: bool = False) -> tuple[str, int] | None:
    """(the word, where it and what sets it apart end) when the text opens at `at` with a flag word, or a kind word
    when no kind was given yet (`explicit`), set apart from what follows, or set off as a tag (`_WRAPPED_WORD`); else
    None. A position, not the text after the word, as `_leading_word_at`.

    A word that introduces a flag word (`[flag_openers]`: "Tambah ANONIM ...", "secara anonim") is read with the flag
    word right after it, as one: (the flag word, where it ends). Help said "Tambah ANONIM", and read as the citizen's
    words the ANONIM was theirs too and their number reached the agency. Followed by anything else ("tambah parah ...")
    the word is the citizen's. A word of prose as often (`after_keywords`: "dan", "with") only right after a kind or
    flag word (`after_keyword`: "ANONIM dan RAHASIA", "REPORT with anonymous: ..."): opening the text ("dan rahasia
    itu dibongkar ...") it is the citizen's, and so is the flag word after it."""
    taken = _leading_table_word_at(text, at, grammar, explicit)
    if taken is not None:
        return taken
    word, end, separated = _leading_word_at(text, at)
    if separated and (word in grammar.flag_openers or (after_keyword and word in grammar.flag_openers_after_keywords)
                      ) and (flag := _leading_table_word_at(text, end, grammar, True)) is not None:
        return flag
    return None


def _opens_a_compound(text: str, at: int, end: int, word: str, grammar: Grammar) -> bool:
    """Whether the flag word typed at `at` (taken up to `end`) and the word after it, a space between, are a noun of
    the citizen's (`[flag_compounds]`: "Rahasia negara dijual oknum", "Private sector ..."). Set apart by anything
    but spaces ("RAHASIA: negara ..."), wrapped or introduced ("(rahasia) negara", "tambah rahasia negara"): a flag."""
    typed = _LEADING_WORD.match(text, at)
    if typed is None or fold_word(typed.group("word")) != word:
        return False
    return _compound_after(text, typed.end("word"), grammar.flags[word], grammar)


def _compound_after(text: str, end: int, flag: str, grammar: Grammar) -> bool:
    """Whether the word after a flag word ending at `end`, spaces alone between, makes a noun of the citizen's with it
    (`[flag_compounds]`: "rahasia negara")."""
    after = _LEADING_WORD.match(text, end)
    return (after is not None and end < after.start("word") and text[end:after.start("word")].isspace()
            and (flag, fold_word(after.group("word"))) in grammar.flag_compounds)


def _hashed_compound_after(text: str, end: int, flag: str, grammar: Grammar) -> bool:
    """Whether the word after a flag word ending at `end`, a "#" glued between, makes a noun of the citizen's with it
    (`[flag_compounds]`: "Rahasia#Negara")."""
    marked = _MARKED_WORD.match(text, end)
    return marked is not None and (flag, fold_word(marked.group("word"))) in grammar.flag_compounds


def _opens_with_anonymity_in_prose(text: str, grammar: Grammar) -> bool:
    """Whether the text opens (after emoji and our short code) with a word of prose that also introduces a flag
    (`after_keywords`: "dan", "dengan", "with") and an anonymity flag word set apart after it ("Dengan anonim, saya
    melaporkan ...", "with anonymous ..."): not read as a flag there, but anonymity may be what was asked, and a
    number withheld once too often is the safe error. A status command before it too ("cek anonim, kades minta uang"):
    with no Tracking ID after it the message is a report of its words, and the ANONIM in them was the citizen's."""
    word, end, separated = _leading_word_at(text, 0)
    if not separated or not word:  # emoji, our short code or handle first ("1708 dan anonim ..."): read past them
        word, end, separated = _leading_word_at(text, _past_symbols_and_our_address_at(text, 0, grammar) or 0)
    if not separated or (word not in grammar.flag_openers_after_keywords and word not in grammar.status_words):
        return False
    flag = _leading_keyword_at(text, end, grammar, True)
    return flag is not None and grammar.flags[flag[0]] == "anonymous"


def _second_kind_after(text: str, at: int, past: int | None, grammar: Grammar,
                       kind: ReportKind) -> tuple[str, int] | None:
    """`_second_kind_before_flag`, else `_second_kind_at`: where the keywords after a kind word stop at `at`, our short
    code and emoji read past to `past` (None: none typed there). With none typed, both first read a kind word at `at`,
    and most reports hold none there: it is read once, and neither is asked without it. Each read it on its own, with
    our short code and emoji looked for again: a fortieth of a report's parse."""
    if past is None:
        word = _leading_table_word_at(text, at, grammar, False)
        if word is None or word[0] not in grammar.kinds:
            return None
    return _second_kind_before_flag(text, at, grammar) or _second_kind_at(text, at, grammar, kind)


def _second_kind_before_flag(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(a kind word, where the kind words typed at `at` end) when more kind words, emoji or our short code are typed
    at `at` with a flag word after them ("LAPOR WBS ANONIM ...", "LAPOR! LAPOR ANONIM ..." copied from help with our
    name before it, "LAPOR WBS 1708 ANONIM ..."); else None. The word named is the first that is not the generic
    "LAPOR". Left as the text's first words, the ANONIM after them was the citizen's words and their number reached the
    agency. Followed by anything else the words stay theirs ("LAPOR info jalan ditutup ..."). One pass over the run,
    read once: the caller's loop moves past all of it."""
    named: str | None = None
    while True:
        past = _past_symbols_and_our_address_at(text, at, grammar)
        at = at if past is None else past
        kind = _leading_table_word_at(text, at, grammar, False)
        if kind is None or kind[0] not in grammar.kinds:
            break
        if named is None or grammar.kinds[named] is ReportKind.COMPLAINT:
            named = kind[0]
        at = kind[1]
    if named is None or _leading_keyword_at(text, at, grammar, True, True) is None:
        return None
    return named, at


def _second_kind_at(text: str, at: int, grammar: Grammar, kind: ReportKind) -> tuple[str, int] | None:
    """(the kind word, where it ends) when, after the generic "LAPOR" (`kind` still a complaint), the text goes on with
    a kind word no prose opens with (`[second_kinds]`: "LAPOR! WBS pungli ...", help's form after our name); else
    None. Left as the text's first word, a whistleblower's report was filed as a plain complaint."""
    if kind is not ReportKind.COMPLAINT:
        return None
    taken = _leading_table_word_at(text, at, grammar, False)
    return taken if taken is not None and taken[0] in grammar.second_kinds else None


def _leading_table_word_at(text: str, at: int, grammar: Grammar, explicit: bool) -> tuple[str, int] | None:
    """`_leading_keyword_at` without the words that introduce a flag."""
    # A word set off as a tag or a group of them opens with a mark, after spaces: at a letter or digit (most texts'
    # first words) neither is looked for.
    marked = not text[at:at + 1].isalnum()
    wrapped = _WRAPPED_WORD.match(text, at) if marked else None
    if wrapped is not None and _paired(wrapped.group("open"), wrapped.group("close")):
        word, end, separated = fold_word(wrapped.group("word")), wrapped.end(), True
        if wrapped.group("sep")[:1] in HASH and wrapped.group("sep"):  # "(ANONIM)#SaveKPK ...": the hashtag kept
            end = _glued_hash_end(text, wrapped.start("sep"), grammar, keeps_hashtag=True)
    elif marked and (first := _flag_group_first_at(text, at, grammar)) is not None:
        return first
    else:
        word, end, separated = _leading_word_at(text, at)
        if separated and (word in grammar.flags or (word in grammar.kinds and not explicit)) and (
                typed := _LEADING_WORD.match(text, at)).group("sep")[:1] in HASH and typed.group("sep"):
            # "ANONIM#<isi>", "LAPOR#ANONIM#<isi>", "RAHASIA#<isi>"; a confidentiality word glued to a word that makes
            # a noun of the citizen's with it only in a run of fields ("ANONIM#RAHASIA#Negara ..."), else theirs
            # ("Rahasia#Negara bocor"; read as a field always, "LAPOR RAHASIA#camat terima suap" was not confidential)
            hashed = _glued_hash_end(text, typed.end("word"), grammar, keeps_hashtag=(
                grammar.flags.get(word) != "confidential" or (at > 0 and text[at - 1] in HASH)
                or not _hashed_compound_after(text, typed.end("word"), grammar.flags[word], grammar)))
            end, separated = (end, False) if hashed is None else (hashed, True)
        # Not set apart, or set apart by spaces from a closing mark ("( anonim & rahasia ) ..."): its group's last.
        if word in grammar.flags and (not separated or (end < len(text) and text[end] in _TAG_CLOSE_CHARS)) and (
                last := _flag_group_last_at(text, at, grammar)) is not None:
            return last
        if separated and _glued_by_plus_to_a_word_of_theirs(text, at, end, word, grammar):
            separated = False
    if (separated or _blank_from(text, end)) and (word in grammar.flags or (word in grammar.kinds and not explicit)):
        return word, end
    return None


def _glued_by_plus_to_a_word_of_theirs(text: str, at: int, end: int, word: str, grammar: Grammar) -> bool:
    """Whether the kind or confidentiality word at `at` is joined by a "+" typed right after it to a word that is none
    of ours: "Rahasia+Negara bocor", "private+public partnership" are the citizen's words (read as a flag, they were
    taken off the text and the report made confidential), "ANONIM+RAHASIA", "LAPOR+ANONIM" two of ours. Not an
    anonymity word ("ANONIM+foto ..."): a number withheld once too often is the safe error."""
    if grammar.flags.get(word) == "anonymous" or (word not in grammar.flags and word not in grammar.kinds):
        return False
    match = _LEADING_WORD.match(text, at)
    glued = match.end("word") if match is not None else len(text)
    if glued >= len(text) or text[glued] not in _PLUS_CHARS:
        return False
    following, _, _ = _leading_word_at(text, end)
    return following not in grammar.flags and following not in grammar.kinds


def _only_flag_words(words: str, grammar: Grammar, *, closed: bool) -> bool:
    """Whether a group's words (`closed`: all of them; else those before its last, a flag word) are flag words, a
    word of prose as often (`after_keywords`: "dan", "and") only between two of them: "(anonim dan rahasia) ..." was
    a named report where "ANONIM dan RAHASIA ..." and "... (anonim dan rahasia)" were anonymous."""
    folded = [fold_word(word) for word in _WORDS.findall(words)]
    return all(word in grammar.flags or (0 < index < len(folded) - closed and folded[index - 1] in grammar.flags
                                         and word in grammar.flag_openers_after_keywords)
               for index, word in enumerate(folded))


def _flag_group_first_at(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(the first flag word, where the next word of its group begins) when a group of flag words in one pair of marks
    (`_FLAG_GROUP`) opens at `at`; else None."""
    group = _FLAG_GROUP.match(text, at)
    if group is None or not _paired(group.group("open"), group.group("close")) or not _only_flag_words(
            group.group("words"), grammar, closed=True):
        return None
    first = _GROUP_FIRST.match(text, group.start("words"))
    return (fold_word(first.group("word")), first.end()) if first is not None else None


def _unclosed_group_first_at(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(the first flag word, where the next word begins) when a bracket opens a group of flag words at `at` that no
    bracket closes ("[ANONIM, RAHASIA pungli di ...", "(anonim & rahasia pungli ...", "(anonim pungli ..."): its flag
    words are read as they are with no bracket before them, the next after this one by the caller. Missed, both stayed
    the citizen's words and the whistleblower's number reached the agency. Only two flag words or more, or an
    anonymity word (in doubt a wish): a confidentiality word alone may open the citizen's own aside ("(rahasia umum
    kades ..."). None when a bracket after it closes it ("(anonim saya takut) ...": an aside, `_pleads_in_an_aside`),
    or nothing follows. Counting the brackets reads the rest of the text: the caller asks once a message."""
    opening = _UNCLOSED_OPEN.match(text, at)
    if opening is None or (first := _leading_keyword_at(text, opening.end(), grammar, True)) is None:
        return None
    words, end = [first[0]], first[1]
    while len(words) < 5 and (more := _leading_keyword_at(text, end, grammar, True, True)) is not None:
        words.append(more[0])
        end = more[1]
    if (len(words) < 2 and grammar.flags[words[0]] != "anonymous") or _blank_from(text, end):
        return None
    mark = unicodedata.normalize("NFKC", opening.group("open"))
    opens = sum(text.count(char, opening.end()) for char in with_compatibility_forms(mark))
    closing = re.escape(with_compatibility_forms(_TAG_PAIRS[mark]))
    closes = sum(1 for _ in re.compile(rf"(?<![{_NOT_CLOSING_AFTER}])[{closing}]").finditer(text, opening.end()))
    return first if closes <= opens else None


# What a bracket that closes nothing follows: a smiley's eyes or nose (":)", ";-)", "=)"), a list's number ("1)").
# Counted, the group "(ANONIM, RAHASIA pungli di kelurahan :)" left open was read as closed, its flag words prose.
_NOT_CLOSING_AFTER = r"\d:;=\-"


def _flag_group_last_at(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(the flag word, where the group and what sets it apart end) when the last word of a group of flag words in one
    pair of marks stands at `at`, its closing mark after it; else None."""
    last = _GROUP_LAST.match(text, at)
    if last is None:
        return None
    head = last.start("word") - (last.start("word") > at and text[last.start("word") - 1] in HASH)
    opened = _GROUP_BEFORE.search(text, max(0, head - _GROUP_LOOK_BACK), head)
    if (opened is None or not _paired(opened.group("open"), last.group("close"))
            or not _only_flag_words(opened.group("words"), grammar, closed=False)):
        return None
    if not (_set_apart(text, last.end(), last.group("sep")) or _blank_from(text, last.end())):
        return None
    return fold_word(last.group("word")), last.end()


def _parse_command(text: str, grammar: Grammar, language: str, shortest_id: int = 0) -> ParsedText | None:
    word, rest, separated = _take_leading_word(text)
    if len(word) == 1 and (spelled := _SPELLED_WORD.match(text)) is not None and (
            fold_word(_SPELLED_GAPS.sub("", spelled.group("letters"))) in grammar.status_words):
        # A status command typed letter by letter ("C E K 10000085", "C.E.K 10000085"): filed, the query was a new
        # report of its words, answered "Laporan Anda diterima". Only a status command: its ID or words after it are
        # read as after "CEK", prose after it stays a report.
        return _parse_status_command(text[spelled.end():], grammar, language, shortest_id)
    if not separated and not (word in grammar.status_words and _GLUED_ID.match(rest)):
        return None
    if word in grammar.help_words:
        if _only_names_and_fillers(rest, grammar.greeting, grammar.help_followers):
            return ParsedText(action=Action.HELP, text="", language=language)
        return _status_command_after_help(rest, grammar, language, shortest_id)
    if word in grammar.status_words:
        return _parse_status_command(rest, grammar, language, shortest_id)
    return None


# A word typed letter by letter opening the text, its letters apart ("C E K", "C.E.K", "C-E-K"), set apart from what
# follows (a separator, a digit glued to it, the end); `_SPELLED_GAPS`, what stands between its letters.
_SPELLED_WORD = re.compile(rf"\s*[{HASH}]?(?P<letters>[^\W\d_](?:[ \t.\-]{{1,2}}[^\W\d_]){{1,5}})(?![^\W\d_])"
                           rf"[\s{_SEPARATOR_SET}]*", re.UNICODE)
_SPELLED_GAPS = re.compile(r"[ \t.\-]")
# The most help words, calls and fillers read before a status command ("tolong bantu cek ...", "Bantuan min, cek").
_HELP_LEAD_WORDS = 4


def _status_command_after_help(rest: str, grammar: Grammar, language: str, shortest_id: int = 0
                               ) -> ParsedText | None:
    """The status query after a help word and any more help words, calls and fillers ("Bantuan cek <id>", "tolong
    bantu cek <id>", "Bantuan min, cek laporan <id>", "help check <id>", "Bantuan cek": how to ask); None when no status
    command follows them. Filed, the citizen asking after their report was answered with a new Tracking ID and their
    question went to an agency. As a status question reads "tolong cek <id>" (`_parse_status_question`): a valid ID
    and nothing after it; words after it ("tolong cek <id> jalan masih rusak") or a mistyped ID stay a report. A loop,
    not `_parse_command` again: "bantuan " repeated must not recurse."""
    at = 0
    for _ in range(_HELP_LEAD_WORDS):
        word, end, separated = _leading_word_at(rest, at)
        if word in grammar.status_words and (separated or _GLUED_ID.match(rest, end)):
            asked = _parse_status_command(rest[end:], grammar, language, shortest_id)
            if asked is not None and (asked.action is Action.STATUS_HELP
                                      or (asked.action is Action.STATUS and not asked.text)):
                return asked
            return None
        if not separated or not (word in grammar.help_words or word in grammar.calls
                                 or word in grammar.greeting.fillers):
            return None
        at = end
    return None


def _parse_status_command(rest: str, grammar: Grammar, language: str, shortest_id: int = 0) -> ParsedText | None:
    """The query of a status command whose words after it are `rest` ("CEK <id>", "CEK", "CEK laporan saya"); None
    when they are a report's ("Cek 2 lampu jalan mati ..."). An ID typed in groups is read as at the start of a text,
    of the runs as long as `shortest_id` ("CEK 10 00 09 13" asked about 100009, another report where IDs of six
    digits are minted)."""
    # Flag words between the command and the ID ("CEK ANONIM 10000004") are skipped as fillers are: read as the
    # ID, the query was filed as a named report of its words. They change nothing for the query; sent with a
    # photo, they go with it to the report (normalizer/pipeline.py).
    flags: set[str] = set()
    at = _past_fillers_at(rest, 0, grammar, flags)
    # "CEK 1708 10000004": our short code copied from "kirim ke 1708" read with the ID as one 12-digit number.
    # Emoji there are read past as at the start ("CEK 🙏 10000004", "CEK🙏10000004"); missed, the query was filed
    # as a new report. Each turn moves a position on, and the text is sliced once after it: linear in the text.
    while (past := _past_symbols_and_our_address_at(rest, at, grammar)) is not None and not _blank_from(rest, past):
        at = _past_fillers_at(rest, past, grammar, flags)
    after_fillers = rest[at:].lstrip(_ID_OPEN)
    if (misread := _misread_id(after_fillers)) is not None and "," in after_fillers[:misread[1]] and not (
            _is_punctuation(tail := after_fillers[misread[1]:]) or is_courtesy(tail, grammar)):
        # Grouped by commas with words after it ("Cek 12,500,000 dana desa tidak jelas": "cek" is a cheque too): an
        # amount, the citizen's words. Read as an ID, the complaint went unfiled, answered with another's status.
        return None
    candidate = _status_candidate(after_fillers, misread, grammar, shortest_id)
    if not candidate or _asks_status(after_fillers, grammar, flags, after_command=True):
        # A bare "CEK", "CEK laporan saya", or other words of a status question and no ID ("CEK laporan kemarin",
        # "cek dong"): the citizen needs to know how to ask, and where their Tracking ID is. Its flags are kept
        # for a photo sent with it ("CEK ANONIM" and a picture: a report of it, anonymous).
        return _status_help(language, flags)
    if is_valid_tracking_id(candidate):
        # Words after it that tell the report something are a follow-up of it, with a photo or without (the words
        # and their flags go to the report: normalizer/pipeline.py); a question, thanks or urging stay the query.
        words = _follow_up_flags(_words_after_status_id(after_fillers, misread, grammar, shortest_id), grammar,
                                 flags)
        return ParsedText(action=Action.STATUS, text=words, tracking_id=candidate, language=language,
                          anonymous="anonymous" in flags, confidential="confidential" in flags)
    if looks_like_tracking_id(candidate) or _ONLY_A_NUMBER.fullmatch(after_fillers):
        # A number too short or too long for an ID and nothing else ("CEK 12345"): a status query with the
        # number mistyped, not a complaint of its own.
        return ParsedText(action=Action.BAD_TRACKING_ID, text="", tracking_id=candidate, language=language,
                          anonymous="anonymous" in flags, confidential="confidential" in flags)
    if (mistyped := _misread_and_mistyped_id(after_fillers, grammar)) is not None:
        return ParsedText(action=Action.BAD_TRACKING_ID, text="", tracking_id=mistyped, language=language,
                          anonymous="anonymous" in flags, confidential="confidential" in flags)
    return None


def _only_names_and_fillers(text: str, table: WordTable, also: frozenset[str] = frozenset()) -> bool:
    """Whether the text's words are only `table`'s fillers, our names and the words in `also` (none at all too:
    punctuation, emoji), as they may stand around a greeting: after a help word ("BANTUAN 1708", "HELP LAPOR", "Bantuan
    min", "REG spasi LAPOR" as help's "ketik REG spasi LAPOR" reads with `[commands] spelled_spaces`), filed, each was
    a case of the citizen's request for the usage text, acknowledged as a report."""
    for word in _folded_tokens(text):
        if word not in also and not any(form in table.fillers or form in table.names
                                        for form in (word, _squeeze(word))):
            return False
    return True


def _asks_status(text: str, grammar: Grammar, flags: set[str], *, after_command: bool, named: bool = False,
                numbers: list[str] | None = None) -> bool:
    """Whether the text is a status question without a Tracking ID (`[status_questions]`): every word one of its
    words, at most `max_words` of them; after a status command any of them ("cek dong"), on its own a topic word and a
    question word or a closing "?" ("gimana laporan saya?"); a word of what became of the report (`states`) only with
    that "?" ("sudah diproses belum laporan saya?"). Its flag words are added to `flags`. With `numbers`, one
    number may stand among the words, added to it ("gimana laporan 12345678?": the caller decides whether it is a
    Tracking ID); a topic word and that number ask without a question word too ("perkembangan laporan 12345678").
    `named`: the words follow a Tracking ID, which names the report as a topic word does ("12345678 gimana?",
    "12345678 sudah sampai mana"). A loop that stops at the first other word (or a second number): most messages
    name something at their first or second word ("cek harga beras ...")."""
    # After a status command and its ID, `[status_questions.after_id]` adds its words, read squeezed too ("lamaaa").
    after_id = after_command and named
    vocabulary = grammar.after_id_vocabulary if after_id else grammar.status_question_vocabulary
    state_words = grammar.after_id_states if after_id else grammar.status_question_states
    # The loop reads a word and the one after it, and returns at the word past `max_words`: a long text's first words
    # alone are folded for it (`_first_folded_tokens`); all of them when it has no more.
    words = _first_folded_tokens(text, grammar.status_question_max_words + 2)
    if after_id:
        words = [word if word in vocabulary or word in state_words else grammar.after_id_squeezed.get(
            _squeeze(word), word) for word in words]
    if not words or (words[0] not in vocabulary and words[0] not in state_words and not words[0].isdigit()):
        return False  # most texts: their first word is none of the question's, as the loop finds at once
    count, topic, asks, states, command = 0, after_command or named, after_command, False, False
    topics = grammar.after_id_topics if after_id else grammar.status_question_topics
    question_words = grammar.after_id_asks if after_id else grammar.status_question_asks
    pairs = grammar.after_id_fillers_before if after_id else grammar.status_question_fillers_before
    asking = False
    durations = grammar.status_question_durations
    for at, word in enumerate(words):
        count += 1
        command = (command or word in grammar.status_words or word in grammar.status_question_checks
                   or (at > 0 and (words[at - 1], word) in grammar.status_question_check_pairs))
        if count > grammar.status_question_max_words:
            return False
        if _filler_out_of_place(word, words[at + 1:at + 2], grammar, pairs):
            return False
        if word in durations and at > 0 and words[at - 1].isdigit():
            continue  # "Sudah 2 minggu ...": the number before it, read past, was a duration
        asking = asking or word in grammar.after_id_asking
        if word not in vocabulary:
            if word in state_words:
                states = True
                continue
            if word.isdigit() and at + 1 < len(words) and words[at + 1] in durations:
                continue
            if numbers is None or numbers or not word.isdigit():
                return False
            numbers.append(word)
            continue
        if word in grammar.flags:
            flags.add(grammar.flags[word])
        topic = topic or word in topics
        asks = asks or word in question_words
    question = text.rstrip(_AFTER_QUESTION).endswith(_CLOSING_QUESTION) or (
        # "sudah ditanggapi belum": the "sudah ... belum" of a question, its "?" left out
        bool(words) and words[-1] in grammar.status_question_closings
        and not grammar.status_question_closings_after.isdisjoint(words[:-1]))
    # A status command and a number name the report asked about as a topic word does ("tolong cek 12345678", "min cek
    # 12345678"): filed, each was a new report answered with a new Tracking ID instead of the status.
    topic = topic or (command and bool(numbers))
    # What became of it, asked with nothing else ("sudah diproses?", "udah ditindaklanjuti belum?"): of the report,
    # there being nothing else named; filed, each was a case of the question.
    topic = topic or (states and question)
    # After a status command and its ID what became of it is asked about with a "?", "sudah ... belum", a question
    # word or a request (`asking`: "CEK <id> kapan selesai", "CEK <id> mohon ditindaklanjuti"); stated without them
    # ("CEK <id> sudah diperbaiki, terima kasih", "CEK <id> belum ada tindakan") it is the citizen's word on the
    # outcome, an addition to the report, as anywhere else a grievance stays the citizen's words.
    return (count > 0 and topic and (asks or question or bool(numbers))
            and (question or not states or (after_id and asking)))


def _filler_out_of_place(word: str, after: list[str], grammar: Grammar,
                         pairs: frozenset[tuple[str, str]] | None = None) -> bool:
    """Whether `word` is a filler read only before certain words (`pairs`, by default `status_question_fillers_before`)
    and `after` (the next word, if any) is none of them: "smp" in "nomor SMP berapa?" names a school, not "sampai"."""
    pairs = grammar.status_question_fillers_before if pairs is None else pairs
    return word in grammar.status_question_fillers and (word, after[0] if after else "") not in pairs


def _parse_status_question(text: str, grammar: Grammar, language: str, shortest_id: int,
                           flags: set[str] | None = None) -> ParsedText | None:
    """A status question without a status command first ("gimana laporan saya?", "what is the status of my report",
    "tolong cek laporan saya"): answered as a bare "CEK" is. With one valid Tracking ID among its words and nothing
    else ("gimana laporan 12345678?", "laporan 12345678 sudah sampai mana?", "where is my report 12345678"), the
    status query for it: the words name that report and ask how it is doing. Filed, each was a new report under the
    citizen's number (a new Tracking ID for a question about the old one). A number that is no valid ID (a check
    digit that fails, shorter than any ID minted) leaves it to the rules that read it without this question: a
    mistyped ID is answered as one only where it would be anyway. `flags`: read before the text (a flag word, a kind
    word's), the question's own added to them."""
    flags = set() if flags is None else flags
    numbers: list[str] = []
    if not _asks_status(text, grammar, flags, after_command=False, numbers=numbers):
        return None
    if not numbers:
        return _status_help(language, flags)
    candidate = normalize_tracking_id(numbers[0])
    if len(candidate) < shortest_id or not is_valid_tracking_id(candidate) or _is_prose_number(candidate, candidate):
        return None
    return ParsedText(action=Action.STATUS, text="", tracking_id=candidate, language=language,
                      anonymous="anonymous" in flags, confidential="confidential" in flags)


def _status_help(language: str, flags: set[str]) -> ParsedText:
    """How to ask for a status, its flags kept for a photo sent with it (a report of it, normalizer/pipeline.py)."""
    return ParsedText(action=Action.STATUS_HELP, text="", language=language, anonymous="anonymous" in flags,
                      confidential="confidential" in flags)


# A Tracking ID written as a number is ("10,000,004": grouped in thousands, as a calculator or a bank's SMS shows one)
# or with the letter O for a zero ("1OOOOOO4", copied by hand or read aloud) or a lowercase l or capital I for a one
# ("l0000004": filed, it was a new report), a word of its own. A comma after it ends it as after a plain ID ("CEK
# 10,000,004, terima kasih"); one before a digit goes on with the number.
_MISREAD_ID = re.compile(r"(?:\d{1,3}(?:,\d{3}){1,6}|[\dOoIl]{6,24})(?!\w|,\d)")
_MISREAD_AS_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", ",": None})


def _misread_id(rest: str) -> tuple[str, int] | None:
    """(the ID, where it ends) when `rest`, the words after a status command, opens with a Tracking ID misread as
    `_MISREAD_ID` says and valid once read as digits; else None. Only after a status command, and only a valid ID:
    "25,000 diminta ..." and "O2O" stay words. Missed, "CEK 10,000,004" was a new report and got a new Tracking ID."""
    match = _MISREAD_ID.match(rest)
    if match is None or match.group().isdigit():
        return None
    candidate = match.group().translate(_MISREAD_AS_DIGITS)
    return (candidate, match.end()) if is_valid_tracking_id(candidate) else None


def _misread_and_mistyped_id(rest: str, grammar: Grammar) -> str | None:
    """The ID as digits when `rest`, the words after a status command, is an ID misread as `_MISREAD_ID` says (the
    letter O for a zero, l or I for a one; a digit at least, no comma) whose check digit fails once read as digits,
    and nothing after it but punctuation, thanks or a status question's words ("CEK 10000O86"); else None. Filed, the
    query was a new report of its words, answered "Laporan Anda diterima": it is a mistyped ID, as "CEK 10000086"
    is. A number with words of the citizen's after it stays theirs, as for a misread ID that holds."""
    match = _MISREAD_ID.match(rest)
    if match is None or match.group().isdigit() or "," in match.group() or not any(
            char.isdigit() for char in match.group()):
        return None
    candidate = match.group().translate(_MISREAD_AS_DIGITS)
    if not looks_like_tracking_id(candidate) or not _asks_nothing_more(rest[match.end():], grammar):
        return None
    return candidate


def _status_candidate(rest: str, misread: tuple[str, int] | None, grammar: Grammar, shortest_id: int = 0) -> str:
    """The ID after a status command: a misread ID (`misread`: `_misread_id` of `rest`), the digits at the start
    ("CEK 1000 0004"), or its first word."""
    if misread is not None:
        return misread[0]
    digits = _LEADING_ID.match(rest)
    if digits is not None:
        return _id_in(digits, after_a_command=grammar, shortest_id=shortest_id)[0]
    return normalize_tracking_id(rest.strip().split()[0]) if rest.strip() else ""


# What only an amount has glued after its digits: Indonesian's ",-" ("Rp 12.500.000,-"), a rate ("/bulan", "/orang")
# and the "-an" of "about" ("12500000-an"). No Tracking ID is written so.
_AMOUNT_SUFFIX = re.compile(r",-|-an\b|/[^\W\d_]", re.IGNORECASE)
# Of those, the one only an amount takes: "/" may set words apart from a Tracking ID ("CEK 10000004/pelaku ..."), and
# "-an" glued to one is no amount's either ("CEK 10000004-an pelaku": a typo, the words the report's).
_AMOUNT_ONLY_SUFFIX = re.compile(r",-")
# What closes an ID a status command named ("CEK (12345678) foto", "CEK *12345678*: foto").
_STATUS_ID_CLOSE = _ID_CLOSE + with_compatibility_forms("\"'*)>]}") + "»”’"


def _words_after_status_id(rest: str, misread: tuple[str, int] | None, grammar: Grammar,
                           shortest_id: int = 0) -> str:
    """The citizen's words after a status command's ID ("CEK 12345678 foto jalannya"; `misread`: `_misread_id` of
    `rest`): a status query answers without them, but sent with a photo they describe it and go with it to the report
    (normalizer/pipeline.py)."""
    digits = _LEADING_ID.match(rest)
    if misread is not None:
        after = rest[misread[1]:]
    elif digits is not None:
        after = rest[_id_in(digits, after_a_command=grammar, shortest_id=shortest_id)[2]:]
    else:
        words = rest.strip().split(maxsplit=1)
        after = words[1] if len(words) > 1 else ""
    after = after.lstrip(_STATUS_ID_CLOSE).strip()
    return "" if _is_punctuation(after) else after


def _id_in(digits: re.Match[str], *, after_a_command: Grammar | None = None,
           ours: frozenset[str] = frozenset(), shortest_id: int = 0) -> tuple[str, str, int]:
    """The ID in a `_LEADING_ID` match, as (digits, as typed, where it ends in the text). A first word of an ID's
    shape is the ID, valid or not: what follows is the text's ("10000004 2 motor jatuh lagi"). An ID typed in groups
    ("1000 0004") is the first run of groups, as long as `shortest_id`, that is a valid one; failing that, the first
    of an ID's shape (a
    mistyped one), or all of them; but no group that is a number of its own, or a date's, joins it
    (`_groups_of_one_id`: "2025 15.000.000 ...", "17 08 2025 ..."; `ours`, our short codes, `[commands]
    addressed_to`: one opening the run is read past there, "1708 <id> foto"). `after_a_command` (the grammar, after a
    status command): a first word whose check digit fails gives way to a longer run that holds, where nothing but
    thanks or a status question's words follow it ("CEK 1000000 4", "CEK 1000000 4 terima kasih", the check digit
    typed apart: answered "1000000 not valid"); the groups are read as typed there."""
    start, typed = digits.start("id"), digits.group("id")
    found = list(re.finditer(r"\S+", typed))
    runs = [typed[:group.end()] for group in found]
    if after_a_command is None:
        runs = runs[:_groups_of_one_id([group.group() for group in found], ours)]
    shaped = [run for run in runs if looks_like_tracking_id(run)]
    if looks_like_tracking_id(runs[0]):
        run = runs[0]
        if after_a_command is not None and not is_valid_tracking_id(run):
            # Not before other words: "cek 1500000 5 bulan gaji honorer belum dibayar" is an amount and the citizen's
            # words, and read as an ID (one amount in ten has a check digit that holds) it was answered with another
            # report's status.
            after = digits.string[start:]
            run = next((longer for longer in runs[1:] if is_valid_tracking_id(longer)
                        and _asks_nothing_more(after[len(longer):], after_a_command)), run)
    else:
        # Of the runs as long as an ID minted may be: a shorter one whose check digit happens to hold ("53 66 34 00":
        # 536634) cut an ID typed in pairs, its words a new named report.
        long_enough = [run for run in shaped if len(normalize_tracking_id(run)) >= shortest_id] or shaped
        run = next((run for run in long_enough if is_valid_tracking_id(run)),
                   long_enough[0] if long_enough else runs[-1])
    return normalize_tracking_id(run), run, start + len(run)


def _groups_of_one_id(groups: list[str], ours: frozenset[str]) -> int:
    """How many of the groups of digits typed apart opening a text (`_id_in`) may be one Tracking ID's: up to a group
    that is a number of its own, an amount or a date typed with marks, or one of an ID's shape alone ("2025
    15.000.000 diminta ...", "17 12345671 foto": a short group joined to it, the complaint was answered "not valid"
    and never filed, or added to a stranger's report), and never past a date typed with spaces ("17 08 2025 jalan
    masih rusak": its groups joined, the ID 17082025, whose check digit holds). Citizens type an ID in groups of a
    few digits ("1000 0012"), none a number of its own. Our short code opening them (`ours`) is no number of the
    complaint: what follows it is read as without it (`_parse_follow_up`), an ID too ("1708 <id> foto")."""
    count = len(groups)
    first = 1 if normalize_tracking_id(groups[0]) in ours else 0
    for at in range(first + 1, len(groups)):
        group = groups[at]
        # A short group opening with 0 is no ID of its own (none starts so): "10 000004" is the ID 10000004 typed
        # apart; a phone number's is a number of its own ("3 0812345678 meneror saya" was answered "not valid").
        if _AMOUNT.fullmatch(group) or _DATE.fullmatch(group) or (
                looks_like_tracking_id(group) and not (group.startswith("0") and len(group) < _PHONE_DIGITS)):
            count = at
            break
    for at in range(min(count, len(groups)) - 2):
        # A date with a year of four digits anywhere ("<id> 17 08 2025 ..."); one with a year of two, or the year
        # first, only opening the digits and ending them (or before a group not of two): an ID typed in pairs ("10
        # 01 23 46", as it is read out) holds such a shape, and was cut to its first pair, a report of its own.
        if _spaced_date_at(groups, at) and (
                (_YEAR.fullmatch(groups[at + 2]) and len(groups[at]) <= 2)
                or (at == first and (at + 3 == count or len(groups[at + 3]) != 2))):
            return max(at, 1)
    return count


def _spaced_date_at(groups: list[str], at: int) -> bool:
    """Whether the groups from `at` are a date typed with spaces: a day and a month (in either order), then a year
    ("17 08 2025", "8 17 2025", "17 8 25"), or a year and then them ("2025 08 17")."""
    first, second, third = groups[at:at + 3]
    if not (first.isdecimal() and second.isdecimal() and third.isdecimal()):
        return False
    if len(first) <= 2 and len(second) <= 2 and (len(third) == 2 or _YEAR.fullmatch(third)):
        return _day_and_month(first, second)
    return bool(_YEAR.fullmatch(first)) and len(second) <= 2 and len(third) <= 2 and _day_and_month(second, third)


def _day_and_month(first: str, second: str) -> bool:
    """Whether two numbers are a day and a month, in either order."""
    low, high = sorted((int(first), int(second)))
    return 1 <= low <= 12 and high <= 31


def _asks_nothing_more(words: str, grammar: Grammar) -> bool:
    """Whether the words after a status query's ID add nothing to it: none, thanks, or a status question's."""
    return (not any(char.isalnum() for char in words) or is_courtesy(words, grammar)
            or _asks_status(words, grammar, set(), after_command=True, named=True))


def addition_of_a_status_query(parsed: ParsedText, typed: str, grammar: Grammar | None = None, *,
                               shortest_id: int = MIN_LENGTH) -> ParsedText | None:
    """The follow-up a status query's words after its ID make of it (`parse_text`'s reading of `typed`, the message):
    its words, flags (a flag word, privacy asked in words) and ID as a photo sent with it files them; None when they
    add nothing (`adds_to_the_report`). One of our answers sent back that opens as a status command does ("LAPOR!
    Status laporan <id> belum bisa dicek saat ini. ..."): read as our answers sent back are (`_parse_quoted_reply`),
    the citizen's words beside it alone, none of ours."""
    grammar = grammar or load_grammar()
    if parsed.action is not Action.STATUS or not parsed.text or parsed.tracking_id is None:
        return None
    quoted = _parse_quoted_reply(typed, grammar, parsed.language, shortest_id)
    if quoted is not None and quoted.tracking_id == parsed.tracking_id:
        if quoted.action is not Action.FOLLOW_UP:
            return None
        added = replace(quoted, anonymous=quoted.anonymous or parsed.anonymous,
                        confidential=quoted.confidential or parsed.confidential)
        return _with_flags_asked_in_words(added, grammar, typed)
    return replace(parsed, action=Action.FOLLOW_UP) if adds_to_the_report(parsed.text, grammar) else None


def adds_to_the_report(words: str, grammar: Grammar) -> bool:
    """Whether the words after a status query's Tracking ID ("CEK 12345678 kepala dinas minta setoran lagi") tell the
    report something new, rather than only ask after it, thank or urge (`_asks_nothing_more`: "sudah sampai mana?",
    "kok lama", "mohon ditindaklanjuti", "terima kasih"; `[status_questions]`), or are words of our own status
    answers copied with the ID ("Silakan kirim CEK <id> ke 1708 lagi nanti.", "... belum bisa dicek saat ini.").
    Answered with the status alone, such words were dropped: a whistleblower's new information lost. A number alone
    is none of theirs to add."""
    if not any(char.isalpha() for char in words) or _asks_nothing_more(words, grammar):
        return False
    return not _copied_from_a_status_answer(words)


def _copied_from_a_status_answer(words: str) -> bool:
    """Whether the words (Tracking IDs read past) run as they do in one of our status answers with a status named in
    it (`_status_answer_runs`: "ke 1708 lagi nanti", "sedang ditindaklanjuti", "belum bisa dicek saat ini"). Their
    words in another order or put together are the citizen's on the outcome ("belum selesai", "ditolak lagi", "not
    resolved", "belum diteruskan ke instansi"): dropped as ours, the word on the report was lost, where the answer
    gives the status either way."""
    typed = tuple(word for word in _folded_tokens(words) if not _AN_ID_TOKEN.fullmatch(word))
    if not typed or not set(typed) <= _status_answer_words():
        return False
    return any(_runs_in(typed, run) for run in _status_answer_runs())


def _runs_in(typed: tuple[str, ...], run: tuple[str, ...]) -> bool:
    """Whether `typed` stands in `run` word for word, one after the other."""
    return any(run[at:at + len(typed)] == typed for at in range(len(run) - len(typed) + 1))


# A Tracking ID's token in our answers' words, read past: the ID is a placeholder in the templates.
_AN_ID_TOKEN = re.compile(r"\d{6,}")


@lru_cache(maxsize=1)
def _status_answer_runs() -> tuple[tuple[str, ...], ...]:
    """Our status answers' words in their order (`_STATUS_ANSWER_KEYS`, current and former texts, both languages),
    each status name put in for `{status}`, and the status names alone, folded."""
    replies = load_replies()
    names = [name for by_language in replies["status_names"].values() for name in by_language.values()]
    texts = [template.replace("{status}", name) if "{status}" in template else template
             for key in _STATUS_ANSWER_KEYS for language in ("id", "en")
             for template in reply_templates(replies[key], language) for name in names]
    return tuple(dict.fromkeys(tuple(_folded_tokens(re.sub(r"\{\w+\}", " ", text))) for text in texts + names))


# Our answers to a status query (config/replies.toml), whose words a citizen copies back with the ID.
_STATUS_ANSWER_KEYS = ("status", "status_retry", "status_pending", "status_unknown")


@lru_cache(maxsize=1)
def _status_answer_words() -> frozenset[str]:
    """The words of our answers to a status query and of the status names (`_status_answer_runs`), folded: "kirim",
    "ke", "1708", "lagi", "nanti", "belum", "bisa", "dicek", "diterima"."""
    return frozenset(word for run in _status_answer_runs() for word in run)


def _skip_fillers(rest: str, grammar: Grammar, flags: set[str] | None = None,
                  fillers: frozenset[str] | None = None) -> str:
    """Drop filler words between a status command and the ID: "CEK laporan no. 12345678". With `flags`, flag words
    too ("CEK ANONIM 12345678", "cek [rahasia] no. 12345678"), added to it. `fillers`: other words to drop than the
    status command's (a follow-up label's: "Tambahan untuk laporan 12345678")."""
    return rest[_past_fillers_at(rest, 0, grammar, flags, fillers):]


def _past_fillers_at(text: str, at: int, grammar: Grammar, flags: set[str] | None = None,
                     fillers: frozenset[str] | None = None) -> int:
    """Where the fillers (and with `flags`, flag words) `_skip_fillers` drops from `at` end. A position: "CEK " and
    "laporan " 20,000 times is read in one pass, where taking the text after each word copied it each turn."""
    fillers = grammar.status_fillers if fillers is None else fillers
    after_flag = False
    while True:
        if flags is not None and (taken := _leading_keyword_at(text, at, grammar, True, after_flag)) is not None:
            flag, at = taken
            flags.add(grammar.flags[flag])
            after_flag = True
            continue
        after_flag = False
        word, end, separated = _leading_word_at(text, at)
        if not word or word not in fillers or not separated:
            return at
        at = end


def _parse_follow_up(text: str, grammar: Grammar, language: str, shortest_id: int, *,
                     ours: bool = False) -> ParsedText | None:
    """A Tracking ID first: with words after it a follow-up, alone a status query, with a check digit that fails a
    mistyped ID; None when the number is prose. The ID may stand in brackets or quotes, as help shows it ("<nomor
    lacak>": "<12345678> jalan masih rusak", "(12345678): ..."), as after a status command; missed, the addition was
    a new report under the sender's number, an anonymous report's reporter's too. The ID typed names the report for
    a status question after it as a topic word does ("12345678 gimana?"); not with `ours`, the ID of one of our
    answers sent back, whose words of the citizen's are added to the report as the forward's rule says."""
    unmarked = text.lstrip(_ID_OPEN)
    marked = unmarked != text.lstrip()
    digits = _LEADING_ID.match(unmarked)
    if digits is None or _is_prose_number(digits.group("id"), normalize_tracking_id(digits.group("id"))):
        return None
    candidate, typed, end = _id_in(digits, ours=grammar.addressed_to, shortest_id=shortest_id)
    if not looks_like_tracking_id(candidate) or _is_prose_number(typed, candidate):
        return None
    # Our short code set apart at the run's head ("1708 15.000.000 diminta ...", "1708 17 Agustus ..."): the
    # address, not digits of an ID. Read as one, the complaint was answered "not valid" and never filed, or added to
    # a stranger's report (170817). Only a status query keeps the run whole ("1708 0008": an ID typed in groups).
    addressed = _past_our_address_at(unmarked, digits.start("id"), grammar) if not typed.isdigit() else 0
    crosses = digits.start("id") < addressed
    rest = unmarked[end:].lstrip(_STATUS_ID_CLOSE if marked else _ID_CLOSE).strip()
    if _is_punctuation(rest):  # "12345678?", "12345678 ??": a question about the report, nothing to add to it
        rest = ""
    # Marked as an ID by a "#" or help's brackets ("#10000004 orang itu datang lagi", "<10000004> jiwa saya
    # terancam"), a count's noun after it is the citizen's word, only a unit that follows nothing but an amount not.
    # So after any valid ID: a count's noun, "per" or "rp" opens the citizen's words about the report as often as it
    # counts ("Tambahan: <id> kk saya dicoret", "<id> jiwa saya terancam", "<id> per hari ini ..."); read as an
    # amount, the addition was a new named report holding the ID, an anonymous report's reporter beside it.
    # Written as an amount (",-", "-an", "/bulan" glued to it) it stays one unless marked.
    as_an_id = marked or unmarked[:digits.start("id")].strip() != ""
    units = grammar.amount_only_units if as_an_id or is_valid_tracking_id(candidate) else grammar.amount_units
    # A pipe after a valid one sets it apart, and no amount's unit is written after one ("<id>|rupiah 500 ribu
    # diminta lagi", "<id>|juta diminta"): read as an amount, the addition was a new named report holding the ID. (A
    # mistyped one stays a report of the whole text: answered "not valid", the words would not be filed.)
    piped = unmarked[end:].lstrip(" \t")[:1] in _PIPES and is_valid_tracking_id(candidate)
    if (_AMOUNT_ONLY_SUFFIX if as_an_id else _AMOUNT_SUFFIX).match(unmarked, end) or (not piped and (
            (unit := _TOKENS.match(rest)) is not None and fold_word(unit.group()) in units)):
        # An amount or a count whose check digit happens to hold ("Untuk 12500000 rupiah dana desa dipotong", "About
        # 4500000 rupiah was taken"), or written as one ("12500000,- diminta", "12500000/bulan", "12500000-an"):
        # read as an ID, the complaint went to another report, or to none, unfiled.
        return None
    if crosses and rest and not _only_asks_status(rest, grammar, named=not ours):
        # Words to file follow: what is typed after our short code is read as it is without it ("1708 <id> foto",
        # "#1708 <id> foto", "Tambahan: 1708 <id> foto"), a report of the whole text when no ID opens it. Before the
        # length below: "#1708 49 60 22 94 foto" ran to 170849, short, and the ID typed after it was never read.
        return _parse_follow_up(unmarked[addressed:], grammar, language, shortest_id, ours=ours)
    if rest and len(candidate) < shortest_id:
        # Shorter than any ID that may have been minted, and words follow: an amount ("500000 diminta petugas"),
        # a case or receipt number. Read as a mistyped ID, the complaint would be answered and never filed.
        return None
    if not is_valid_tracking_id(candidate):
        return ParsedText(action=Action.BAD_TRACKING_ID, text=text, tracking_id=candidate, language=language)
    flags: set[str] = set()
    rest = _follow_up_flags(rest, grammar, flags)
    # The question's flag words are read into a copy: in an addition's prose they are the citizen's ("12345678 nomor
    # anonim meneror saya" was an anonymous addition).
    asked = set(flags)
    if not rest or _only_a_status_command(rest, grammar) or _asks_status(rest, grammar, asked, after_command=False,
                                                                         named=not ours):
        # A Tracking ID on its own asks how that report is doing (its flags are kept for a photo sent with it), and
        # so does one followed by a status command ("12345678 cek status"): the query in the other order. Filed,
        # the agency got "cek status" as an addition and the citizen no status. So does one followed by a status
        # question and nothing else ("12345678 laporan saya sudah sampai mana?", "12345678 gimana?",
        # `[status_questions]`): the ID names the report a topic word would.
        return ParsedText(action=Action.STATUS, text="", tracking_id=candidate, language=language,
                          anonymous="anonymous" in asked, confidential="confidential" in asked)
    return ParsedText(action=Action.FOLLOW_UP, text=rest, tracking_id=candidate, language=language,
                      anonymous="anonymous" in flags, confidential="confidential" in flags)


def _only_asks_status(rest: str, grammar: Grammar, *, named: bool) -> bool:
    """Whether the words after an ID (`_parse_follow_up`'s `rest`) ask only its status, past flag words: nothing of
    them would be filed."""
    flags: set[str] = set()
    rest = _follow_up_flags(rest, grammar, flags)
    return not rest or _only_a_status_command(rest, grammar) or _asks_status(rest, grammar, flags,
                                                                              after_command=False, named=named)


def _parse_labelled_follow_up(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """An addition labelled as help's "Tambahan: <nomor lacak> <isi>" teaches ("Tambahan: 12345678 jalan masih
    rusak", "TAMBAHAN untuk laporan 12345678: ...", "Addition: 12345678 ..."): read as the ID first is ("<id>
    <isi>"), with flag words between the label and the ID ("Tambahan ANONIM 12345678 ...") on top of the follow-up's
    own. Filed as a report, the addition never reached its report, and it carried the sender's number even when that
    report is anonymous.

    Only with a number right after the label and its fillers: after any other word the label is the citizen's own
    ("Tambahan biaya 50000 diminta petugas"), and so is a number `_parse_follow_up` takes for prose (an amount, a
    date, a phone number, one shorter than any ID minted followed by words), or a number that fails the ID's check
    with words after it, right after the word ("Tambahan 25000000 rupiah diminta petugas", an extra charge): None, a
    report of the whole text; answered "not valid", that complaint was never filed. Written as help's label (a colon,
    fillers or a flag word before the number: "Tambahan: 12345672 ..."), a mistyped ID is answered as such."""
    word, rest, separated = _take_leading_word(text)
    if word not in grammar.follow_up_words or not separated:
        return None
    flags: set[str] = set()
    after = _skip_fillers(rest, grammar, flags, grammar.follow_up_fillers)
    if _LEADING_ID.match(after.lstrip(_ID_OPEN)) is None:
        return None
    parsed = _parse_follow_up(after, grammar, language, shortest_id)
    if parsed is None or (_mistyped_id_and_words(parsed) and not _written_as_a_label(text, rest, after)):
        return None
    return _with_flags(parsed, flags)


def _written_as_a_label(text: str, rest: str, after: str) -> bool:
    """Whether "Tambahan" was written as help's label: a colon right after it, or fillers or flags before the number."""
    return after != rest or text.lstrip()[: len(text.lstrip()) - len(rest)].rstrip().endswith(":")


def _only_a_status_command(text: str, grammar: Grammar) -> bool:
    """Whether the words after a Tracking ID are a status command and its fillers alone ("cek", "cek status?",
    "check my report"), with punctuation at most: nothing to add to the report."""
    words = [fold_word(word) for word in _TOKENS.findall(text)]
    return (any(word in grammar.status_words for word in words)
            and all(word in grammar.status_words or word in grammar.status_fillers for word in words)
            and _is_punctuation(_TOKENS.sub("", text)))


def _follow_up_flags(rest: str, grammar: Grammar, flags: set[str]) -> str:
    """The text of a follow-up without the flags it asks for, added to `flags`: flag words opening it ("<id> ANONIM
    ..."), as hashtags anywhere ("... #anonim") and closing it ("..., RAHASIA"), as a report's are read. Read as the
    follow-up's words, an anonymous addition to a named report (a witness adding to someone else's report) carried the
    sender's number to the agency. A kind word stays the citizen's: a follow-up has its report's kind."""
    at, after_flag = 0, False
    while (taken := _leading_keyword_at(rest, at, grammar, True, after_flag)) is not None:
        word, at = taken
        flags.add(grammar.flags[word])
        after_flag = True
    rest = rest[at:]  # once, after the loop: a copy a turn made repeated flag words cost time quadratic in them
    flags.update(hashtag_flags(rest, grammar))
    return _text_without_flags(rest, grammar, flags)


def hashtag_flags(text: str, grammar: Grammar) -> set[str]:
    """The flags the hashtags anywhere in `text` ask for, read as a report's are (`_read_hashtag`: "#WBS_Anonim",
    "#anonim+rahasia"; not "#rahasia_negara" nor a negated "bukan #rahasia"): a mail's body reads them so too."""
    flags: set[str] = set()
    for match in _HASHTAG.finditer(text):
        flags.update(_read_hashtag(match, grammar)[0])
    return flags


def _hashtag_flags(tag: str, grammar: Grammar) -> list[str]:
    """The flags a hashtag asks for: a flag word's ("#anonim", "#WBS_Anonim"), or those of flag words joined by "_"
    ("#anonim_rahasia": it was a named report); none for any other ("#rahasia_negara")."""
    folded = fold_word(tag)
    if folded in grammar.flags:
        return [grammar.flags[folded]]
    parts = [fold_word(part) for part in tag.split("_")] if "_" in tag else []
    return [grammar.flags[part] for part in parts] if parts and all(part in grammar.flags for part in parts) else []


def _read_hashtag(match: re.Match[str], grammar: Grammar) -> tuple[list[str], str]:
    """(the flags a `_HASHTAG` match asks for, what of it stays in the text). Flag words joined by "+" are one tag
    ("#anonim+rahasia", "#anonim+#rahasia"): all their flags, all of it taken out. From the first word joined that is
    none ("#anonim+foto") the rest stays as typed ("+foto"). A tag negated ("bukan #rahasia") stays whole, an
    anonymity word's flag still read (in doubt a wish)."""
    flags = _hashtag_flags(match.group("tag"), grammar)
    if _negation_start(match.string, match.start(), grammar) is not None:
        return [flag for flag in flags if flag == "anonymous"], match.group(0)
    if not flags:
        return [], match.group(0)
    if len(flags) == 1 and match.end() == match.end("tag") and _compound_after(match.string, match.end(), flags[0],
                                                                                 grammar):
        # "Ada #rahasia negara yang dijual": the flag is set, the tag stays the citizen's noun (taken out, the report
        # read "Ada negara yang dijual": the state for sale).
        return flags, match.group(0)
    kept = match.end("tag")
    for part in _JOINED_TAG.finditer(match.string, kept, match.end()):
        more = _hashtag_flags(part.group("tag"), grammar)
        if not more:
            break
        flags.extend(more)
        kept = part.end()
    return flags, match.string[kept:match.end()]


def _text_without_flags(rest: str, grammar: Grammar, flags: set[str]) -> str:
    """A report's or a follow-up's words once its leading keywords are read: without its flag hashtags (the caller
    read them), its closing flags (added to `flags`), the separators left before it and help's placeholder marks;
    the citizen's own closing punctuation stays."""
    if _HASH_MARK.search(rest) is not None:
        rest = _without_flag_hashtags(rest, grammar)
    rest = _take_trailing_flags(rest, grammar, flags)
    if "  " in rest or "\t" in rest:  # runs of spaces to fold (`_SPACE_RUNS`): a few texts; most have none
        rest = _SPACE_RUNS.sub(" ", rest)
    return _without_placeholder_marks(rest.lstrip(_TEXT_OPEN).rstrip(), grammar)


# Punctuation a flag hashtag taken out of the text may have stood right before ("... camat #anonim.", "pungli #anonim,
# kantor camat"): the spaces before the tag go with it.
_AFTER_A_TAG = with_compatibility_forms(".,!?;:)]")


def _without_flag_hashtags(rest: str, grammar: Grammar) -> str:
    """`rest` without its flag hashtags (`_read_hashtag`'s reading of each, what of it stays), the spaces before one
    taken out whole going with it before punctuation: "LAPOR pungli kantor camat #anonim." was filed as "pungli kantor
    camat ."."""
    pieces: list[str] = []
    at = 0
    for match in _HASHTAG.finditer(rest):
        kept = _read_hashtag(match, grammar)[1]
        before = rest[at:match.start()]
        if not kept and rest[match.end():match.end() + 1] in _AFTER_A_TAG and match.end() < len(rest):
            before = before.rstrip(" \t")
        pieces += (before, kept)
        at = match.end()
    pieces.append(rest[at:])
    return "".join(pieces)


# What the words after leading flag words may ask without filing anything new: the flags change none of these.
_FLAGGED_QUERIES = frozenset({Action.STATUS, Action.FOLLOW_UP, Action.HELP, Action.STATUS_HELP,
                              Action.BAD_TRACKING_ID})
# What they may ask after a kind word: a status query ("WBS CEK <id>", "LAPOR ANONIM CEK <id>", "LAPOR <id>"), not
# help ("LAPOR bantuan sosial tidak cair" is a complaint), a follow-up ("LAPOR 15000005 rupiah diminta ...": a number
# with a check digit that holds may be an amount, filed with its words) nor a mistyped ID: "LAPOR 15000000" is what
# `[bad_tracking_id]` tells a citizen to send to file a number it refused as an ID.
_QUERIES_AFTER_KIND = frozenset({Action.STATUS, Action.STATUS_HELP})


def _flagged_query(rest: str, grammar: Grammar, language: str, shortest_id: int, flags: set[str], *,
                   after_kind: bool = False, addressed: bool | None = None,
                   commanded: bool = False) -> ParsedText | None:
    """What the words after leading flag words ask when it is no new report, read as they are without the flags,
    with those flags on top of their own. Help's earlier "Tambah ANONIM ..." led people to put the flag before anything:
    "ANONIM <id> saya saksi" (a follow-up), "ANONIM CEK <id>", "RAHASIA laporan <id>" (status queries), "ANONIM CEK"
    (how to ask). Filed as a new report, the addition never reached its report, and the query became a case holding only
    a command and a number. For a query the flags change nothing; sent with a photo, which makes it a follow-up or a
    report (normalizer/pipeline.py), they keep it anonymous or confidential.

    None when the words are a report (the flags kept for it), also when they open with a mistyped ID and more words
    ("ANONIM 12345672 petugas minta uang": they may be the complaint); a mistyped ID alone, or after a status command,
    is the query it is without the flag. `after_kind`: the words follow a kind word, where only `_QUERIES_AFTER_KIND`
    are taken (a status query alone, its words are a report's, and our short code after the kind word is not read
    past again); else `_FLAGGED_QUERIES`. `addressed`: whether our short code opening the words is read past to the
    message after it (by default not after a kind word). `commanded`: after a kind word a status command opens the
    words, whose valid ID with words after it names the report they add to ("WBS CEK <id> kepala dinas minta setoran
    lagi", as "LAPOR CEK <id> ..." reads): filed, the addition was a new named report holding that report's ID."""
    asks = _QUERIES_AFTER_KIND if after_kind else _FLAGGED_QUERIES
    parsed = _parse_query(rest, grammar, language, shortest_id, False,
                          addressed=not after_kind if addressed is None else addressed)
    if parsed is None and not after_kind and (greeted := _past_greeting_at(rest, grammar)) and (
            not _blank_from(rest, greeted)):
        # A greeting or a term of address after the flags ("ANONIM pak <id> jalan masih rusak", "ANONIM, Selamat pagi,
        # <id> ..."), read past as one opening the text is (`_parse_as_typed`): the follow-up was a new report answered
        # with a new Tracking ID. Not through our short code again: "ANONIM pak 1708 " repeated would recurse.
        parsed = _parse_query(rest[greeted:], grammar, language, shortest_id, False, addressed=False)
    if parsed is None or parsed.action not in asks or _mistyped_id_and_words(parsed) or (
            after_kind and parsed.text and not (commanded and parsed.action is Action.STATUS)):
        return None
    return _with_flags(parsed, flags)


def _with_flags(parsed: ParsedText, flags: set[str]) -> ParsedText:
    """The parse with `flags` (read before it: "ANONIM CEK <id>", "Tambahan ANONIM <id> ...") on top of its own."""
    return replace(parsed, anonymous=parsed.anonymous or "anonymous" in flags,
                   confidential=parsed.confidential or "confidential" in flags)


def _mistyped_id_and_words(parsed: ParsedText) -> bool:
    """Whether the parse is a mistyped ID opening words ("12345672 petugas minta uang"): after a word in front of it
    (a flag word, an instruction of help's) the words may be the complaint, and the number its own."""
    return parsed.action is Action.BAD_TRACKING_ID and bool(parsed.text) and not _ONLY_A_NUMBER.fullmatch(
        parsed.text.lstrip(_ID_OPEN).rstrip(_STATUS_ID_CLOSE))  # "ANONIM <12345672>" as "ANONIM 12345672"


def _parse_named_id(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """A Tracking ID named with filler words and nothing else ("Nomor lacak: 12345678", "laporan 12345678",
    "ID (12345678)"): the citizen asks about that report, as with the ID alone. Filed, the report would hold only
    the number. With words after the ID it stays a report: a filler such as "laporan" also opens prose. Not when the
    fillers name the Tracking ID itself (`[commands] tracking_names`: "Nomor lacak saya 12345678, jalan makin rusak"):
    an addition to that report, which was filed as a new one."""
    after = _skip_fillers(text, grammar)
    if after == text:
        return None
    # Its marks left on: `_parse_follow_up` reads what closes them ("Nomor lacak: <12345678>.": a ">" is no
    # punctuation, and taken off here only at the front, it was read as words after the ID).
    parsed = _parse_follow_up(after, grammar, language, shortest_id)
    if parsed is not None and parsed.action is Action.FOLLOW_UP and not grammar.tracking_names.isdisjoint(
            fold_word(word) for word in _TOKENS.findall(text, 0, len(text) - len(after))):
        return parsed
    if parsed is None or parsed.action is Action.FOLLOW_UP:
        return None
    if parsed.action is Action.BAD_TRACKING_ID and (
            not _ONLY_A_NUMBER.fullmatch(after.lstrip(_ID_OPEN)) or _take_leading_word(text)[0] in grammar.kinds):
        # A mistyped ID with words after it: the words may be a complaint of their own. After a kind word
        # ("REPORT 15000000") the citizen follows our advice for a refused ID: they want it filed.
        return None
    return parsed


def _parse_quoted_reply(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """One of our own answers sent back to us (an SMS answer forwarded or copied into a new message, a public reply
    to a mention copied into a new mention): the citizen points at the report it names. With nothing else, or only a
    forward's marker, it asks how the report is doing; with words of their own, those are added to it. Filed as a
    report, our own text would become a new case."""
    pattern, owners = _our_replies(SMS_REPLY_KEYS)
    match = pattern.search(text)
    public = match is None and _PUBLIC_REPLY_MARK.search(text) is not None
    if public:
        pattern, owners = _our_replies(PUBLIC_REPLY_KEYS)
        match = pattern.search(text)
    if match is None:
        return None
    assert match.lastgroup is not None
    tracking_id = normalize_tracking_id(match.group(match.lastgroup))  # `\d` matches any script's digits
    language = match.lastgroup.split("_")[1]  # the language of our answer: the citizen's, when they asked
    before = text[:match.start()].strip()
    if public:
        before = _without_trailing_handles(before)
    rest = " ".join(part for part in (before, text[match.end():].strip()) if part)
    words = [fold_word(word) for word in _TOKENS.findall(rest)]
    if all(word in grammar.forward_markers or word in grammar.addressed_to for word in words):
        rest = ""
    if owners[int(match.lastgroup.rsplit("_", 1)[1])] in _TYPED_ID_REPLY_KEYS:
        # Our "not valid" answer sent back alone: that answer again. With words of the citizen's it is no query: read
        # as the refused number first, they were answered "not valid" again and never filed ("... Laporan baru? Ketik
        # LAPOR <isi>." and the complaint it asks for).
        return None if rest else ParsedText(action=Action.BAD_TRACKING_ID, text="", language=language,
                                            tracking_id=tracking_id)
    # As the ID typed first: alone a status query, with words a follow-up, a check digit that fails a mistyped ID.
    return _parse_follow_up(f"{tracking_id} {rest.lstrip(_ID_CLOSE + _QUESTION)}".rstrip(), grammar, language,
                            shortest_id, ours=True)


def _parse_query(text: str, grammar: Grammar, language: str, shortest_id: int, short: bool, *,
                 addressed: bool = True) -> ParsedText | None:
    """What the text asks or adds to, when it is no new report: a greeting, a command, a Tracking ID (first, named,
    or in one of our answers sent back), or any of these after our short code (not with `addressed` false: the
    message read after a kind word, where `_parse_addressed` would read "LAPOR 1708 LAPOR 1708 ..." again, once per
    pair, past the recursion limit). `short`: the text's words are all in the short-message tables
    (`_only_short_message_words`), so it may be a greeting."""
    if (short and is_greeting(text, grammar)) or _one_character(text):
        return ParsedText(action=Action.HELP, text="", language=language)
    # The readings of a Tracking ID typed first, labelled or named (`_LEADING_ID` on what is left of the text) are
    # passed by when no run of digits an ID could be stands anywhere in it (most reports): they cost a twentieth of
    # the parse.
    return _read_query(text, grammar, language, shortest_id, addressed=addressed,
                       numbered=_ANY_ID_RUN.search(text) is not None)


def _read_query(text: str, grammar: Grammar, language: str, shortest_id: int, *, addressed: bool,
                numbered: bool) -> ParsedText | None:
    """`_parse_query` past greetings and single characters. `numbered`: whether an ID's run of digits may stand in
    the text (`_ANY_ID_RUN`); if not, the readings that need one are not asked (a phone number alone among them)."""
    if numbered and _only_a_phone_number(text):
        return ParsedText(action=Action.HELP, text="", language=language)
    command = (_parse_command(text, grammar, language, shortest_id)
               or (_parse_follow_up(text, grammar, language, shortest_id) if numbered else None)
               or (_parse_labelled_follow_up(text, grammar, language, shortest_id) if numbered else None))
    if addressed and (command is None or command.action is Action.BAD_TRACKING_ID):
        # "1708 12345678" is our short code and an ID, not the mistyped ID 170812345678; a valid ID that opens with
        # our short code ("1708 0004") stays one.
        addressed = _parse_addressed(text, grammar, language, shortest_id)
        if addressed is not None:
            return addressed
    if command is not None and command.action in (Action.STATUS, Action.FOLLOW_UP):
        # Our answer to a status query sent back ("Status laporan <id> dapat dilihat di ..."): it opens as a status
        # command does, but its words are ours, and any others the citizen's, to add to that report. So does our
        # public answer to an addition ("Tambahan untuk laporan <id> kami terima. Pantau di ..."), which opens as
        # help's label for one does: our words were added to the report as the citizen's.
        ours = _parse_quoted_reply(text, grammar, language, shortest_id)
        if ours is not None and ours.tracking_id == command.tracking_id:
            return ours
    return (command or (_parse_named_id(text, grammar, language, shortest_id) if numbered else None)
            or _parse_quoted_reply(text, grammar, language, shortest_id)
            or _parse_status_question(text, grammar, language, shortest_id))


def _only_a_phone_number(text: str) -> bool:
    """Whether the text is a phone number and nothing else ("081234567890", "+62 812-3456-7890", "0812 3456 7890."):
    no report yet, the citizen's own number or one to call back, answered with help as a greeting is. Filed, it was a
    case of a number, acknowledged as a report. Its digits those of a phone number as `_is_prose_number` reads one
    (an Indonesian one opening with 0, or 62 without its "+"), or any of 9 to 15 after a "+"; no Tracking ID opens
    with 0, and none is so long and opens with 62, so a mistyped ID stays one."""
    alone = _PHONE_ALONE.fullmatch(text)
    if alone is None:
        return False
    digits = normalize_tracking_id(_PHONE_MARKS.sub("", alone.group("number")))
    if not digits.isdigit() or not _PHONE_DIGITS <= len(digits) <= 15:
        return False
    return bool(alone.group("plus")) or digits.startswith("0") or bool(_PHONE_WITHOUT_PLUS.fullmatch(digits))


# A phone number alone (`_only_a_phone_number`): a "+" before it, its digits in groups (spaces, dashes, dots, brackets
# around an area code), a stop or a "?" after it.
_PHONE_ALONE = re.compile(rf"\s*(?P<plus>[{_PLUS}]\s*)?(?P<number>[(\d][\d\s(){_ID_GROUPING}]*\d)"
                          rf"[\s{''.join(map(re.escape, with_compatibility_forms('.!?')))}]*", re.UNICODE)
_PHONE_MARKS = re.compile(r"[()]")


def _one_character(text: str) -> bool:
    """Whether the text's letters and digits are one character ("1", "a", "3 🙏"): a key pressed, a menu choice as
    other services ask for one. Filed, it was a case of "1" for an agency, acknowledged as a report; help tells the
    citizen how to report. Asked of nearly every message: stops at its first word longer than that, or its second,
    where listing every word cost a tenth of the message's parse."""
    words = _TOKENS.finditer(text)
    first = next(words, None)
    return first is not None and len(first.group()) == 1 and next(words, None) is None


def _parse_addressed(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """The message after our short code typed first ("1708 CEK 12345678", "1708 ANONIM pungli", "1708" alone: help),
    when what follows it is a command, an ID or a kind or flag word; else None, and the text stays whole ("1708 jalan
    rusak"). Missed, an ANONIM there would send the reporter's number to the agency."""
    addressed = _without_our_address(text, grammar)
    if addressed is None:
        return None
    if not addressed.strip():
        return ParsedText(action=Action.HELP, text="", language=language)
    # Emoji after it ("1708 🙏 ANONIM ...", "1708 🙏 CEK <id>") are read past as they are at the start. Missed, the
    # ANONIM was the text's and the reporter's number went to the agency.
    past = _past_symbols_and_our_address(addressed, grammar)
    if past is not None:
        after = _parse_message(past, grammar, shortest_id)
        if after.action in _READ_PAST_SYMBOLS or after.anonymous or after.confidential or after.explicit_kind:
            return after
    after = _parse_message(addressed, grammar, shortest_id)
    if after.action is not Action.REPORT or after.explicit_kind or after.anonymous or after.confidential:
        return after
    return None


# Letters `_take_trailing_flags` steps back over at once while they are all letters.
_LETTER_BLOCK = 64


def _take_trailing_flags(text: str, grammar: Grammar, flags: set[str]) -> str:
    """Flag words at the end ("..., ANONIM", "... (rahasia)", "... ANONIM"), as help's earlier "add ANONIM" led many to
    write: added to `flags`. Missed, an anonymous reporter's number would reach the agency. They are taken off the
    text only when punctuation sets them apart from it; after a plain space they may be the citizen's own words
    ("menyimpan dokumen rahasia"), which stay: a flag set once too often is the safe error, a lost word is not.

    Thanks or a "ya" after them ("..., mohon anonim. Terima kasih", "..., anonim ya pak") hid them, as a closing
    emoji did: the flags before such a tail count, and the text stays as typed."""
    if not _may_end_with_a_tail(text, grammar):  # most texts: their last word opens no tail
        return _flags_at_the_end(text, grammar, flags)
    return _flags_before_a_tail(text, grammar, flags)


def _flags_before_a_tail(text: str, grammar: Grammar, flags: set[str]) -> str:
    """`_take_trailing_flags` reading the tails: what it returns, for any text, with `flags` updated alike."""
    head = _before_courtesy_tail(text, grammar)
    tail_free = text if head is None else head.rstrip(_TRAILING_OPEN)
    clarified = _before_clarification(tail_free, grammar) or _before_plea(tail_free, grammar)
    if clarified is not None:  # "..., rahasia, bukan untuk umum", "..., anonim karena saya takut": as before thanks
        head = clarified
    if head is not None:
        _flags_at_the_end(head.rstrip(_TRAILING_OPEN), grammar, flags)
        return text
    return _flags_at_the_end(text, grammar, flags)


# How far back `_may_end_with_a_tail` looks for the text's last word.
_LAST_WORD_WINDOW = 32


def _may_end_with_a_tail(text: str, grammar: Grammar) -> bool:
    """Whether the text's last word (as `_tail_words` reads it) may end thanks, a plea or a clarification
    (`tail_last_words`); True when it cannot tell cheaply (no word in the last characters, or one longer than them).
    Read each message: reading and folding the tail's words for the three readings cost a tenth of the parse."""
    offset = max(0, len(text) - _LAST_WORD_WINDOW)
    # The window read backwards: its first token is the last one's letters reversed, found at once where reading it
    # forwards went through every token of the window.
    window = text[offset:][::-1]
    last = _TOKENS.search(window)
    if last is None or (last.end() == len(window) and offset > 0):
        return True
    return fold_word(last.group()[::-1]) in grammar.tail_last_words


def _before_plea(text: str, grammar: Grammar) -> str | None:
    """The text before the plea for protection it ends with (the words of an aside's plea, `plea_vocabulary`, one of
    them a fear: "karena saya takut dipecat", "saya takut"), when there is something before it; else None. Reads a
    bounded tail of the text, as `_before_courtesy_tail` does."""
    cut, feared = None, False
    for start, word, cut_short in reversed(_tail_words(text)[-_COURTESY_TAIL_WORDS:]):
        if cut_short or word not in grammar.plea_vocabulary:
            break
        cut, feared = start, feared or word in grammar.plea_fears
    if cut is None or not feared or not text[:cut].strip():
        return None
    return text[:cut]


def _before_clarification(text: str, grammar: Grammar) -> str | None:
    """The text before the words it ends with that say what the report is not (`[flag_negations] after_flags`:
    "bukan untuk umum", "bukan fitnah"), only punctuation after them, when there is something before them; else
    None. Reads a bounded tail of the text."""
    most = grammar.flag_clarification_words
    tail = _tail_words(text)[-most:] if most else ()
    folded = tuple(word for _, word, _ in tail)
    for count in range(len(tail), 0, -1):
        cut, _, cut_short = tail[-count]
        if cut_short:  # the window began inside this word
            continue
        if folded[-count:] in grammar.flag_clarifications:
            return text[:cut] if text[:cut].strip() else None
    return None


def _flags_at_the_end(text: str, grammar: Grammar, flags: set[str]) -> str:
    """`_take_trailing_flags` on a text without thanks at its end.

    A scan back from the end, not a regex search, and over positions: each flag word read moves `end` back, and the
    text is sliced once, when the scan stops. Slicing and stripping the text before each flag word copied it a turn,
    and ", anonim" 20,000 times cost time quadratic in the text."""
    end, set_apart, found = len(text), False, False
    # A flag word joined by "&" or "+" to the word before it ("... (anonim & rahasia)", "... ANONIM+RAHASIA"): that
    # word's turn decides. Held meanwhile: the flag, where the scan stood, and how it ends should that word be the
    # citizen's (None: glued to it, "C+rahasia", part of a longer word and no flag; else as after a plain space,
    # "jabatan & rahasia": the flag set, the text whole unless punctuation set it apart).
    pending: tuple[str, int, tuple[bool, int] | None] | None = None
    while True:
        body = _closing_marks_start(text, end)
        start = _last_word_start(text, body)
        word = fold_word(text[start:body])
        if pending is not None:
            joined_flag, end_before_join, unless_joined = pending
            if word not in grammar.flags:
                if unless_joined is None:
                    return text[:end_before_join] if found and set_apart else text
                flags.add(grammar.flags[joined_flag])
                return text[:unless_joined[1]] if unless_joined[0] else text
            flags.add(grammar.flags[joined_flag])
            found, pending = True, None
        head = start - 1 if start and text[start - 1] in HASH else start
        negation = _negation_start(text, head, grammar) if word in grammar.flags else None
        if negation is not None:
            # "..., bukan rahasia", "..., bukan ~rahasia~": the citizen's words, which stay (an anonymity word's flag
            # set, and that of one right before them: "..., ANONIM, bukan rahasia"). Struck through without a
            # negation, a flag word asks as "~ANONIM~" does (typed as decoration; in doubt a wish: a report kept
            # from the public once too often is the safe error).
            if grammar.flags[word] == "anonymous" or _anonymity_word_before(
                    text, _stripped_end(text, negation, _TAG_OPEN_CHARS), grammar):
                flags.add("anonymous")
            return text[:end] if found and set_apart else text
        before = _opening_marks_end(text, head)
        joined = _stripped_end(text, before, _TRAILING_JOIN)
        if word in grammar.flags and joined < before:
            pending = (word, end, None if before == head else _flag_set_apart(text, head, before, grammar))
            end = joined
            continue
        if word not in grammar.flags or before == head:  # no separator before it: part of a longer word
            return text[:end] if found and set_apart else text
        flags.add(grammar.flags[word])
        set_apart, end = _flag_set_apart(text, head, before, grammar)
        found = True


def _anonymity_word_before(text: str, end: int, grammar: Grammar) -> bool:
    """Whether an anonymity word stands right before `end`, spaces or punctuation apart ("ANONIM, " before "bukan
    rahasia"). Reads back past them and one word: asked once, where the scan from the end stops."""
    before = _stripped_end(text, end, _FLAG_WORD_APART)
    return before < end and grammar.flags.get(fold_word(text[_last_word_start(text, before):before])) == "anonymous"


# What may set an anonymity word apart from a negated flag word after it (`_anonymity_word_before`).
_FLAG_WORD_APART = " \t,;:.&+" + _TAG_CLOSE_CHARS


def _negation_start(text: str, head: int, grammar: Grammar) -> int | None:
    """Where the word negating the flag word (or hashtag) at `head` starts, None when none does: a word of
    `[flag_negations]` right before it, spaces or a hyphen apart, the marks typed around it aside ("..., bukan
    rahasia", "..., bukan ~rahasia~", "bukan #rahasia", "non-rahasia"), unless a word that asks or fears stands
    right before that one ("bisa gak rahasia", "takut kalau tidak rahasia": `asked_after`). Reads back past those
    marks and spaces, and no further than the longest of the words past them: a scan as `_flags_at_the_end`'s, which
    reads them again."""
    at = head
    while at and text[at - 1] in _TAG_OPEN_CHARS:
        at -= 1
    spaced = _stripped_end(text, at, " \t")
    if spaced == at and at and text[at - 1] in _HYPHENS:
        spaced = at - 1
    if spaced == at:
        return None
    start = _short_word_start(text, spaced, grammar.flag_negation_letters)
    if start is None or fold_word(text[start:spaced]) not in grammar.flag_negations:
        return None
    # "bisa gak rahasia", "takut kalau tidak rahasia": asked or feared, a request
    before = _stripped_end(text, start, " \t")
    if before == start:
        return start
    asker = _short_word_start(text, before, grammar.flag_negations_asked_after_letters)
    return start if asker is None or fold_word(text[asker:before]) not in grammar.flag_negations_asked_after else None


def _short_word_start(text: str, end: int, letters: int) -> int | None:
    """Where the word ending at `end` starts, read back no further than `letters` letters; None when no letter ends
    there or the word is longer."""
    start, reach = end, max(0, end - letters)
    while start > reach and text[start - 1].isalpha():
        start -= 1
    if start == end or (start and text[start - 1].isalpha()):
        return None
    return start


def _flag_set_apart(text: str, head: int, before: int, grammar: Grammar) -> tuple[bool, int]:
    """`_flags_at_the_end`'s: whether the flag word at `head` (after the separators from `before`) is set apart from
    the text, and where the text without it ends. The separator before the leftmost flag word decides: punctuation
    in it ("," "-" "("), or the sentence before it ended ("."), sets them apart."""
    head, before = _with_flag_opener(text, head, before, grammar)
    return text[before:head].strip() != "" or (before > 0 and text[before - 1] in _SENTENCE_END), before


def _last_word_start(text: str, end: int) -> int:
    """Where the letters just before `end` begin (`end` when there are none). Back a block of letters at a time, then
    letter by letter: one at a time, a text ending in a word of 100,000 letters (a hostile message) cost 12 ms of CPU
    a reading."""
    start = end
    while start >= _LETTER_BLOCK and text[start - _LETTER_BLOCK:start].isalpha():
        start -= _LETTER_BLOCK
    while start and text[start - 1].isalpha():
        start -= 1
    return start


def _stripped_end(text: str, end: int, chars: str) -> int:
    """Where `text[:end].rstrip(chars)` would end, without copying `text[:end]`."""
    while end and text[end - 1] in chars:
        end -= 1
    return end


def _opening_marks_end(text: str, end: int) -> int:
    """`_stripped_end` past the separators and opening marks before a closing flag word (`_TRAILING_OPEN`), stopping
    at marks that open and close alike ("*", "~") right after a letter or digit: those close the citizen's own word
    ("pungli di ~kelurahan~ ~ANONIM~" lost the "~" after "kelurahan", "**besar** **RAHASIA**" one "*")."""
    while end and text[end - 1] in _TRAILING_OPEN:
        if text[end - 1] in _SYMMETRIC_MARKS:
            run = _stripped_end(text, end, _SYMMETRIC_MARKS)  # "**besar**": the run after the word, whole
            if run and text[run - 1].isalnum():
                break
            end = run  # the whole run at once: a long one read again at each mark cost time quadratic in it
            continue
        end -= 1
    return end


# The most words of thanks and fillers read back from a text's end (`_before_courtesy_tail`): "terima kasih banyak ya
# pak" is five; a bound keeps the look back short whatever the text.
_COURTESY_TAIL_WORDS = 6
_COURTESY_TAIL_CHARS = 12 * _COURTESY_TAIL_WORDS


@lru_cache(maxsize=2)
def _tail_words(text: str) -> tuple[tuple[int, str, bool], ...]:
    """The words of the text's last `_COURTESY_TAIL_CHARS` characters: (where each starts, folded, whether the window
    began inside it). Read back from the end by the thanks, the clarification and the plea after a closing flag word,
    each of which read and folded the same words again. Cached: a report's parse asks for the same text thrice."""
    offset = max(0, len(text) - _COURTESY_TAIL_CHARS)
    return tuple((match.start(), fold_word(match.group(0)), match.start() == offset and offset > 0)
                 for match in _TOKENS.finditer(text, offset))


def _before_courtesy_tail(text: str, grammar: Grammar) -> str | None:
    """The text before the words of thanks and fillers it ends with (`[courtesy]`: "terima kasih", "ya", "pak"), when
    there are such words and something before them; None otherwise."""
    cut = None
    for start, word, cut_short in reversed(_tail_words(text)[-_COURTESY_TAIL_WORDS:]):
        if cut_short or word not in grammar.courtesy.vocabulary:
            break
        cut = start
    if cut is None or not text[:cut].strip():
        return None
    return text[:cut]


def _with_flag_opener(text: str, head: int, before: int, grammar: Grammar) -> tuple[int, int]:
    """`_flags_at_the_end`'s (where the text up to a flag word ends, where it ends without the separators before the
    flag word), with a word introducing the flag (`[flag_openers]`) before those separators read as part of the flag
    ("..., tambah ANONIM": the text up to "tambah"), when only spaces separate it from the flag word and it is a word
    of its own. Then the separators before that word decide whether the flag is set apart. Positions in `text`, not
    copies of it, as `_flags_at_the_end` reads."""
    if not text[before:head].isspace():  # "rusak tambah, ANONIM": the word before the comma is the citizen's
        return head, before
    start = before
    while start and text[start - 1].isalpha():
        start -= 1
    opener = fold_word(text[start:before])
    if opener not in grammar.flag_openers and not (
            opener in grammar.flag_openers_after_keywords and _ends_with_flag_word(text, start, grammar)):
        return head, before
    opener_before = _opening_marks_end(text, start)
    if start and opener_before == start:  # no separator before it: the end of a longer word
        return head, before
    return start, opener_before


def _ends_with_flag_word(text: str, end: int, grammar: Grammar) -> bool:
    """Whether `text[:end]` ends with a flag word and spaces ("... ANONIM " before "dan RAHASIA"): a word of prose
    that introduces a flag (`after_keywords`) only joins two flags at the end. Read where it is, a block of letters at
    a time, as `_flags_at_the_end` reads."""
    while end and text[end - 1].isspace():
        end -= 1
    start = _last_word_start(text, end)
    return start < end and fold_word(text[start:end]) in grammar.flags


# Emoji and what builds them: symbols (So: pictographs, regional indicators), skin tones (Sk), variation selectors and
# a keycap's enclosing mark (Mn, Me), the zero-width joiner (Cf). Read past after a closing flag word ("..., ANONIM 🙏",
# "... anonim ❤️") and before the leading keywords.
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf"})


def _without_closing_marks(text: str) -> str:
    """`text` without the closing marks (`_TRAILING_CLOSE`) and emoji at its end. Missed, the emoji hid a flag word
    before it ("..., ANONIM 🙏") and the reporter's number reached the agency."""
    return text[:_closing_marks_start(text, len(text))]


def _closing_marks_start(text: str, end: int) -> int:
    """Where the closing marks and emoji just before `end` begin (`_without_closing_marks` of `text[:end]`, as a
    position)."""
    while end and (text[end - 1] in _TRAILING_CLOSE or unicodedata.category(text[end - 1]) in _EMOJI_CATEGORIES):
        end -= 1
    return end


# What a message opening with emoji may ask once they are read past: a courtesy, an opt-out or an opt-in stays what the
# whole message makes of it ("😡 terima kasih" is no thanks), as does a report without a keyword (its emoji kept).
_READ_PAST_SYMBOLS = frozenset({Action.STATUS, Action.HELP, Action.STATUS_HELP, Action.FOLLOW_UP,
                                Action.BAD_TRACKING_ID})


def _after_leading_symbols(text: str) -> str | None:
    """The text after the emoji (and spaces) it opens with; None when it opens with none, or is nothing else."""
    at = _past_leading_symbols_at(text, 0)
    return None if at is None else text[at:]


def _past_leading_symbols_at(text: str, at: int) -> int | None:
    """Where the emoji (and spaces) typed at `at` end (`_after_leading_symbols` from a position); None when none is
    typed there, or nothing else follows them."""
    emoji = False
    while at < len(text):
        if unicodedata.category(text[at]) in _EMOJI_CATEGORIES:
            emoji = True
        elif not text[at].isspace():
            break
        at += 1
    return at if emoji and at < len(text) else None


def _past_symbols_and_our_address(text: str, grammar: Grammar) -> str | None:
    """The text after the emoji and our short codes or handles it opens with, in any order and number ("🙏 ANONIM
    ..." -> "ANONIM ...", "🙏 1708 🙏 CEK ..." -> "CEK ..."); None when it opens with neither."""
    at = _past_symbols_and_our_address_at(text, 0, grammar)
    return None if at is None else text[at:]


# A space spelled out as a format writes it ("spasi", "(spasi)", "<spasi>", "[space]"), and the separators after it.
_SPELLED_SPACE = re.compile(rf"\s*(?P<open>[{_TAG_OPEN}])?\s*(?P<word>[^\W\d_]+)(?:\s*(?P<close>[{_TAG_CLOSE}]))?"
                            rf"(?P<sep>[\s{_SEPARATOR_SET}]*)", re.UNICODE)


def _past_spelled_space_at(text: str, at: int, grammar: Grammar, *, spaced: bool = False) -> int | None:
    """Where a spelled space (`[commands] spelled_spaces`: "spasi", "(spasi)", "<spasi>") typed at `at` ends, with
    the separators after it; None when none is typed there, or it is glued to what follows. `spaced`: only one set
    apart by spaces alone, or bracketed ("Space, please ..." opens an English sentence)."""
    match = _SPELLED_SPACE.match(text, at)
    if match is None or fold_word(match.group("word")) not in grammar.spelled_spaces or (
            bool(match.group("open")) != bool(match.group("close"))):
        return None
    end, sep = match.end(), match.group("sep")
    if spaced and not match.group("close") and sep.strip():
        return None
    return end if sep or match.group("close") or end == len(text) else None


def _past_symbols_and_our_address_at(text: str, at: int, grammar: Grammar) -> int | None:
    """Where `_past_symbols_and_our_address` from `at` ends; None when neither emoji nor our address is typed there.
    Spaces alone are not read past (`_past_symbols_and_address_at`, help's instructions' reading, does). One loop of
    positions, not a recursion through our short code nor a copy of the rest each turn: a text of them repeated
    thousands of times is read in one pass."""
    start = at
    while True:
        past = _past_leading_symbols_at(text, at)
        if past is None:
            past = _past_our_address_at(text, at, grammar)
            if past == at:
                return at if at != start else None
        at = past


def _is_prose_number(typed: str, candidate: str, *, flags_only: bool = False) -> bool:
    """A leading number that is part of the complaint, not a Tracking ID: a phone number ("0812...", "62812..."),
    a date or an amount. Read as an ID with a wrong check digit, the complaint would be answered and never filed.

    `flags_only`: for a reader that only takes the flag words after the number and files the text as typed
    (`_flags_after_a_leading_id`), a date or an amount is no prose, whatever its check digit ("10.000.012",
    "15.000.000", "17.08.2025"): "LAPOR 15.000.000 ANONIM ..." went named. A flag read once too often is the safe
    error."""
    if _DATE.fullmatch(typed) or _AMOUNT.fullmatch(typed):
        return not flags_only  # "01.08.2025 ANONIM ...": a date, whatever its first digit
    if flags_only and candidate.startswith("0") and len(candidate) < _PHONE_DIGITS:
        return False  # "1708 010825 ANONIM ...": a date of six digits; no Indonesian number is so short
    # Tracking IDs never start with 0: a leading "0812..." is the citizen's phone number in prose.
    return candidate.startswith("0") or bool(_PHONE_WITHOUT_PLUS.fullmatch(candidate))


def parse_text(text: str, grammar: Grammar | None = None, *, shortest_id: int = MIN_LENGTH,
               glued_anonymity: bool = True) -> ParsedText:
    """Read kind keywords, flags, commands and a leading Tracking ID; return what is left as the text.

    `shortest_id`: the digits of the shortest Tracking ID that may have been minted (the settings'
    `intake.shortest_tracking_id`); a shorter number opening a message with words after it is the citizen's prose.
    After a status command, or alone, any number of an ID's shape is still read as a (maybe mistyped) ID.
    `glued_anonymity`: False leaves out the flags read from a flag word glued to a mark (`_with_glued_flags`), for
    those that ask what the grammar took out of the words (a comment under our post, a handle read past)."""
    grammar = grammar or load_grammar()
    parsed = _with_flags_asked_in_words(_parse_text(text, grammar, shortest_id), grammar, text)
    return _without_address_alone(_with_glued_flags(parsed, grammar) if glued_anonymity else parsed, grammar)


# The text's words and numbers, each one token: "ANONIM~3" is "ANONIM" and "3", "ANONIM5" no flag word.
_HEAD_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# A word after the anonymity word inside the marks it opens ("*ANONIM ya* ...").
_SPACED_TOKEN = re.compile(r"\s+(?P<word>[^\W_]+)", re.UNICODE)
# A handle's name after its "@" ("@pemkot", "@budi.s").
_HANDLE_NAME = re.compile(r"\w(?:\w|\.(?=\w))*", re.UNICODE)
_AT_SIGNS = with_compatibility_forms("@")
# An e-mail address's domain after its "@" ("gmail.com", "pemkot.go.id"): its last label a country's code (ISO 3166,
# as phonenumbers knows the regions, and "uk", "eu") or a common top-level name, as a dotted handle's is not
# ("@pemkot.sukamaju", "@dpr.ri", "@dinas.pu").
_MAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+\b", re.UNICODE)
_MAIL_TOP_LEVEL = frozenset({region.lower() for region in phonenumbers.SUPPORTED_REGIONS} | {
    "uk", "eu", "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "io", "app", "dev", "xyz", "online",
    "site", "web", "email", "mail"})


def _with_glued_flags(parsed: ParsedText, grammar: Grammar) -> ParsedText:
    """The report, anonymous when an anonymity flag word opening its text is glued to a mark the grammar does not read
    as a separator (`_glued_flags_at_head`: "ANONIM|Kepala desa ...", "LAPOR ANONIM~3 km ...", "WBS *ANONIM ya*
    ..."): each was a named report, the whistleblower's number sent. Confidential when a confidentiality word there
    is set off by a pipe ("RAHASIA|pungli ...", "LAPOR|RAHASIA pungli ...", "ANONIM|RAHASIA|..."), an SMS template's
    separator: each went public. So are an addition's words after its Tracking ID (`_FILED`: "<id> ANONIM)foto ...",
    "CEK <id> ANONIM)foto ..."), as "<id> ANONIM foto ..." is: filed named, they went beside the number, and as a
    report of its own when the ID was never minted. Only the flags are added, the text and all else as read: such
    marks read as separators cut the citizen's words ("Aduan >50 orang", "Laporan_2024.pdf"). A confidentiality word
    glued to any other mark is the citizen's on purpose ("Rahasia+Negara bocor", "#rahasia_negara", "(rahasia)nya
    terbongkar")."""
    wanted = {flag for flag, asked in (("anonymous", parsed.anonymous), ("confidential", parsed.confidential))
              if not asked}
    if parsed.action not in _FILED or not wanted:
        return parsed
    glued = _glued_flags_at_head(parsed.text, grammar, wanted)
    if not glued:
        return parsed
    return replace(parsed, anonymous=parsed.anonymous or "anonymous" in glued,
                   confidential=parsed.confidential or "confidential" in glued)


# The marks that set a confidentiality word opening the text off as a flag (`_glued_flags_at_head`): a pipe, in its
# forms (`_PIPES`, as they set a statement apart). Never inside a word of prose, as a bracket ("(rahasia)nya"), "_",
# "+", "#" or "@" may be.
# What may follow a confidentiality word after a pipe and leave it set off ("LAPOR|RAHASIA pungli ...",
# "LAPOR|RAHASIA: ..."): the text's end, a space, a pipe, a separator. Not a mark that joins a word of the citizen's
# to it ("LAPOR|Rahasia+Negara bocor").
_AFTER_PIPED = frozenset(" \t\n" + _PIPES + with_compatibility_forms(":.,;!?-=/&") + "–—")


def _glued_flags_at_head(text: str, grammar: Grammar, wanted: set[str]) -> set[str]:
    """The flags of `wanted` asked by flag words among the words opening the text glued to a mark: an anonymity word
    (`[flags] anonymous`) glued to one on either side ("ANONIM|...", "ANONIM)...", "*ANONIM*...", "ANONIM>5 orang",
    "LAPOR|ANONIM ..."), or opening marks that close after particles or flag words alone ("*ANONIM ya* ...";
    "(anonim menurut warga) ..." is prose); a confidentiality word set off by a pipe (`_piped`). The words before it
    may only be kind and flag words, the words introducing a flag, our names and handles ("@pemkot ANONIM|...", as a
    mention after a pointing mark keeps it; joined by a mark, "@pemkot,@bupati ANONIM|..."): any other ("BUKAN
    ANONIM|...", "Kepala desa ANONIM|...") ends the look, as it ends the flag's reading a space apart, and nothing else
    does: a bound of 48 characters left the flag unread past three handles kept ("@lapor1708 → @pemkot_sukamaju
    @dinaspu_sukamaju @bupati_sukamaju ANONIM|..."). A text opening with none of them (nearly every report) is passed
    after its first word."""
    found: set[str] = set()
    handle_end = 0
    for token in _HEAD_TOKEN.finditer(text):
        start, end = token.span()
        if start < handle_end:
            continue
        if start and text[start - 1] in _AT_SIGNS and _a_handle_at(text, start, grammar):
            handle_end = _HANDLE_NAME.match(text, start).end()
            continue
        word = fold_word(token.group())
        flag = grammar.flags.get(word)
        if flag in wanted and flag not in found and (
                _glued_to_a_mark(text, start, end, grammar) if flag == "anonymous" else _piped(text, start, end)):
            found.add(flag)
            if found == wanted:
                return found
        if flag is None and word not in grammar.kinds and word not in grammar.courtesy.names and (
                word not in grammar.flag_openers and word not in grammar.flag_openers_after_keywords):
            return found
    return found


def _piped(text: str, start: int, end: int) -> bool:
    """Whether the word `text[start:end]` is set off by a pipe (`_PIPES`): one right after it, or one right before it
    and nothing glued after it (`_AFTER_PIPED`)."""
    if end < len(text) and text[end] in _PIPES:
        return True
    return start > 0 and text[start - 1] in _PIPES and (end == len(text) or text[end] in _AFTER_PIPED)


def _a_handle_at(text: str, start: int, grammar: Grammar) -> bool:
    """Whether the name at `start`, after an "@", is a handle read past: its "@" opens the text or follows a space,
    or a mark ("@pemkot,@bupati", "(@pemkot)", "@pemkot/@dinas": an address's "@" follows a word, "budi@gmail.com")
    unless the name holds an anonymity word ("(@anonim) ...", "#@anonim_ ...", "(@laporan_anonim)": glued to the
    "@" or a mark, it is read)."""
    if start == 1 or text[start - 2].isspace():
        return True
    before = text[start - 2]
    if before.isalnum() or before in "_.-+":
        return False
    name = _HANDLE_NAME.match(text, start).group()
    return all(grammar.flags.get(fold_word(word)) != "anonymous" for word in (name, *_HEAD_TOKEN.findall(name)))


def _a_mail_domain_at(text: str, at: int) -> bool:
    """Whether an e-mail address's domain (`_MAIL_DOMAIN`, `_MAIL_TOP_LEVEL`) begins at `at`."""
    domain = _MAIL_DOMAIN.match(text, at)
    return domain is not None and domain.group().rsplit(".", 1)[1].lower() in _MAIL_TOP_LEVEL


def _glued_to_a_mark(text: str, start: int, end: int, grammar: Grammar) -> bool:
    """Whether the word `text[start:end]` is glued to a mark (`_glued_flags_at_head`): after it, or before it with
    a space after it; an opening mark so only when it closes after particles or flag words alone ("*ANONIM ya* ...")."""
    after = text[end] if end < len(text) else ""
    if after and after in _AT_SIGNS and _a_mail_domain_at(text, end + 1):
        return False  # an address of that name ("anonim@gmail.com mengirim ancaman"); "ANONIM@pemkot" is glued
    if after and not after.isspace():
        return True  # no letter or digit: the token ends there
    before = text[start - 1] if start else ""
    if not before or before.isspace():
        return False
    if before not in _TAG_OPEN_CHARS:
        return True
    at = end
    for _ in range(4):
        spaced = _SPACED_TOKEN.match(text, at)
        if spaced is None:
            return False
        word = fold_word(spaced.group("word"))
        if word not in grammar.flag_particles and word not in grammar.flags:
            return False
        at = spaced.end()
        if at < len(text) and _paired(before, text[at]):
            return True
    return False


# The longest text `_without_address_alone` reads word by word: "pak", "min dong", "ya pak please".
_ADDRESS_ALONE_CHARS = 24


def _without_address_alone(parsed: ParsedText, grammar: Grammar) -> ParsedText:
    """The report, its text emptied when it is only terms of address and particles (`[flag_particles]`, `[courtesy]
    calls`: "LAPOR pak", "Tanya min", "info dong", "pak"): nothing reported yet, so help is sent, as for "LAPOR" alone
    (normalizer/pipeline.py). Filed, each was a case of "pak" or "min" at an agency. Only a short text is read."""
    if parsed.action is not Action.REPORT or not parsed.text or len(parsed.text) > _ADDRESS_ALONE_CHARS:
        return parsed
    words = [fold_word(word) for word in _TOKENS.findall(parsed.text)]
    if not words or not all(word in grammar.flag_particles or word in grammar.calls for word in words):
        return parsed
    return replace(parsed, text="")


# What anonymity or confidentiality asked in words flags: what files the citizen's words under their number. A
# status query's words are filed with a photo sent with it, as an addition to its report or a report of its own
# (normalizer/pipeline.py): "CEK <id> foto loketnya, tolong jangan sebut nama saya" was filed open, the number
# beside it.
_FILED = frozenset({Action.REPORT, Action.FOLLOW_UP, Action.STATUS})


def _with_flags_asked_in_words(parsed: ParsedText, grammar: Grammar, typed: str) -> ParsedText:
    """The parse, anonymous when its text asks for it in words (`[flags_in_words]`: "Mohon identitas saya
    dirahasiakan") without a flag word, confidential when it asks so of the report or of us ("Mohon laporan ini tidak
    dipublikasikan", "jangan dipublikasikan ya min"), with the flags of an aside pleading for protection opening it
    ("(anonim, saya takut) ..."); its text as typed. `typed`: the message the parse read."""
    if parsed.action not in _FILED:
        return parsed
    pleaded = _pleads_in_an_aside(parsed.text, grammar)
    if pleaded:
        parsed = replace(parsed, anonymous=parsed.anonymous or "anonymous" in pleaded,
                         confidential=parsed.confidential or "confidential" in pleaded)
    if parsed.anonymous and parsed.confidential:
        return parsed
    words = _folded_words(parsed.text, grammar)
    # The kind word taken off the text named the report in a phrase too ("LAPOR tanpa nama: ...", "Laporan ini mohon
    # dirahasiakan").
    named = _with_kind_word_before(words, parsed.text, typed, grammar) if parsed.explicit_kind else words
    if _asks_no_flag_in_words(parsed.text, named, grammar):  # most reports: only an opening "dengan anonim" is read
        if parsed.anonymous or not _opens_with_anonymity_in_prose(parsed.text, grammar):
            return parsed
        return replace(parsed, anonymous=True)
    anonymous = parsed.anonymous or (
        _asks_in_a_phrase(named, grammar.anonymity_phrases, grammar.anonymity_asked_phrases, grammar)
        or _fills_a_name_line(parsed.text, words, grammar) or _leaves_the_name_blank(parsed.text, grammar)
        or _fills_a_closing_name_line(parsed.text, words, grammar, typed)
        or _wishes_anonymity(words, grammar)
        or _opens_with_anonymity_in_prose(parsed.text, grammar)
        # A statement's breaks: an SMS sets the wish apart with a dash, an emoji or a pipe too ("... - tanpa nama",
        # "Saya takut 🙏 ...", "TANPA NAMA|..."), and a colon introduces none of it.
        or any(_asks_in_a_clause(parsed.text, words, grammar, grammar.anonymity_requests, (),
                                 grammar.anonymity_request_ends, breaks) for breaks in statement_breaks(parsed.text))
        or _states_in_a_clause(parsed.text, words, grammar, typed if parsed.explicit_kind else None,
                               grammar.anonymity_words, grammar.anonymity_statement_links,
                               joined=grammar.confidentiality_statements)
        or _states_in_a_clause(parsed.text, words, grammar, None, grammar.identity_statements,
                               grammar.anonymity_statement_links, subjects=grammar.identity_statement_subjects,
                               joined=grammar.anonymity_words))
    confidential = parsed.confidential or (
        _asks_in_a_phrase(named, grammar.confidentiality_phrases, grammar.confidentiality_asked_phrases, grammar,
                          negations=grammar.confidentiality_negations)
        or _asks_in_a_clause(parsed.text, words, grammar, grammar.confidentiality_requests,
                             grammar.confidentiality_requests_when_asked, grammar.confidentiality_request_ends)
        or _states_in_a_clause(parsed.text, words, grammar, typed if parsed.explicit_kind else None,
                               grammar.confidentiality_statements, grammar.confidentiality_statement_links,
                               joined=grammar.anonymity_words)
        or _wishes_confidentiality(words, grammar))
    if (anonymous, confidential) == (parsed.anonymous, parsed.confidential):
        return parsed
    return replace(parsed, anonymous=anonymous, confidential=confidential)


def _parse_text(text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    if _our_answer_marks().search(text):  # first: our help's header and instructions read as a form copied
        ours = _our_answer_sent_back(text, grammar)
        if ours is not None:
            # Sent with a photo it is a report of the text (`normalize`), with the flags the text gives a report:
            # help's "LAPOR ANONIM <isi>" and the public help's "#anonim" and "#rahasia" (read as a query's, none, the
            # photo went to the agency named and public though the text held "#anonim").
            filed = _with_flags_asked_in_words(_parse_as_typed(text, grammar, shortest_id), grammar, text)
            return replace(ours, anonymous=filed.anonymous, confidential=filed.confidential)
    return _parse_as_typed(text, grammar, shortest_id)


def _parse_as_typed(text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    """`_parse_text` of a text that is none of our answers sent back (or read as if it were none)."""
    instructed = _parse_instructed(text, grammar, shortest_id)
    if instructed is not None:
        return instructed
    after_symbols = _after_leading_symbols(text)
    if after_symbols is not None:
        # Emoji typed before a command or a keyword ("🙏 CEK 10000004", "🙏🙏 ANONIM ..."): read past them. Missed,
        # the query was filed as a report, and the ANONIM was the text's and the reporter's number went to the agency.
        # Once, at the start: "🙏 1708 🙏 1708 ..." must not recurse through our short code as deep as it repeats.
        parsed = _parse_message(after_symbols, grammar, shortest_id)
        if parsed.action is Action.HELP and not any(char in _QUESTION for char in after_symbols) and (
                whole := _parse_message(text, grammar, shortest_id)).action is Action.COURTESY:
            # "🙏 1708", "❤️ 1708", "♥ a": thanks to our short code, or a filler after the emoji, as "1708 🙏" is; past
            # the emoji only our short code (or one letter) was left, and the citizen who thanked us was sent help's
            # two SMS parts. ("🙏 ?" and "👍 1708 ?" still ask for help: the "?" after our short code is read as its
            # separator, and the question went unanswered.)
            return whole
        if parsed.action in _READ_PAST_SYMBOLS or parsed.anonymous or parsed.confidential or parsed.explicit_kind:
            return parsed
    whole = _parse_message(text, grammar, shortest_id)
    if whole.action is Action.REPORT and not whole.explicit_kind and (greeted := _past_greeting_at(text, grammar)):
        # A greeting or a call to the admin before an ID or a kind word ("Pak, 10000004", "Min, INFO jadwal posyandu",
        # "Min, <id> jalan masih rusak"): read past, as emoji are. Missed, the follow-up was a new report under the
        # citizen's number, answered with a new Tracking ID, and the kind was lost. A report without a keyword keeps
        # its greeting ("Pak, jalan rusak"), as do flags (`_wishes_anonymity` reads them, the words kept). A kind word
        # alone after it is one alone ("Min, LAPOR": help, or a photo's report of its kind), not a case of its words.
        parsed = _parse_message(text[greeted:], grammar, shortest_id)
        if parsed.action in _READ_PAST_SYMBOLS or parsed.explicit_kind:
            return parsed
        # The flag words after a number opening the words past it ("Min, 2025 ANONIM pungli ...", "Pak, 17 Agustus
        # RAHASIA ..."), read as without the greeting, the text kept whole: missed, each went named.
        flags = _flags_after_a_leading_id(text, greeted, grammar, shortest_id)
        if flags:
            return replace(whole, anonymous=whole.anonymous or "anonymous" in flags,
                           confidential=whole.confidential or "confidential" in flags)
    if whole.action is Action.REPORT and not whole.explicit_kind and (apologized := _past_apology_at(text, grammar)):
        # An apology before flag words and a Tracking ID ("Maaf, ANONIM <id> ...", "Maaf tadi lupa, <id> ANONIM
        # ...": a citizen asking, too late, that her report be anonymous): the follow-up or status query it is
        # without the apology. Read as a report of the words, a new one, her number beside her report's ID.
        parsed = _parse_message(text[apologized:], grammar, shortest_id)
        if parsed.action in _APOLOGIZED_ACTIONS and (parsed.anonymous or parsed.confidential):
            return parsed
    return whole


# What a message opening with an apology before flag words is read as without it (`_past_apology_at`).
_APOLOGIZED_ACTIONS = frozenset({Action.FOLLOW_UP, Action.STATUS})


def _past_apology_at(text: str, grammar: Grammar) -> int:
    """Where an apology or excuse opening the text ends (`[flags_in_words]` apology_words, at most `request_reach`
    words, a greeting's words, a call or a particle among them: "Maaf,", "Maaf tadi lupa.", "Maaf ya min,"), before a
    word of none of them; 0 when it opens with none. A kind, flag or command word ends it. Emoji before, between or
    after its words go with it ("🙏 Maaf, ANONIM <id> ...")."""
    at, words, apologized, past = 0, 0, False, 0
    while words < grammar.request_reach:
        at = _past_leading_symbols_at(text, at) or at
        if (match := _LEADING_WORD.match(text, at)) is None:
            break
        word = fold_word(match.group("word"))
        if word in grammar.kinds or word in grammar.flags or word in grammar.status_words:
            break
        if word in grammar.apology_words or _squeeze(word) in grammar.apology_words:
            apologized = True
        elif not (word in grammar.greeting_words or _squeeze(word) in grammar.greeting_words or word in grammar.calls
                  or word in grammar.flag_particles):
            break
        at, words, past = match.end(), words + 1, match.end()
    return (_past_leading_symbols_at(text, past) or past) if apologized else 0


# The most words a greeting before a command may hold ("Assalamualaikum wr wb selamat pagi pak admin").
_GREETING_WORDS = 8


def _past_greeting_at(text: str, grammar: Grammar) -> int:
    """Where a greeting or a call to the admin opening the text ends (`[greeting]`'s phrases' words, the courtesy's
    `calls`: "Pak,", "Selamat pagi min,", "Halo admin"), before a word of none of them; 0 when it opens with none. Not
    the courtesy's fillers: "ya lapor aja ke polisi" is one citizen's answer to another. A command, kind or flag word
    ends it ("Cek tes" greets, "CEK <id>" asks): never read as one. Emoji before, between or after its words go with
    it ("🙏 Min, <id> ...", "Min 🙏 <id> ..."): read past at the start alone, they left the greeting, and the follow-up
    was a new report."""
    at, words, greeted = 0, 0, 0
    while words < _GREETING_WORDS:
        at = _past_leading_symbols_at(text, at) or at
        if (match := _LEADING_WORD.match(text, at)) is None:
            break
        word = fold_word(match.group("word"))
        if (word in grammar.kinds or word in grammar.flags or word in grammar.status_words or word in grammar.help_words
                or not (word in grammar.greeting_words or _squeeze(word) in grammar.greeting_words
                        or word in grammar.calls)):
            break
        at, words, greeted = match.end(), words + 1, match.end()
    return (_past_leading_symbols_at(text, greeted) or greeted) if words else 0


def _past_flag_particles_at(text: str, at: int, grammar: Grammar) -> int:
    """Where the particles said with the leading flag or kind words (`[flag_particles]`: "ya pak", "min") end, when a
    run of them at `at` is set apart from the text by punctuation or an emoji ("Rahasia ya. Kepala desa ...", "ANONIM
    ya pak 🙏 ..."); `at` when none is, or nothing follows them ("Anonim ya pak kepala desa ...": the text's)."""
    end = at
    while (match := _LEADING_WORD.match(text, end)) and fold_word(match.group("word")) in grammar.flag_particles:
        end = match.end()
        sep = match.group("sep")
        if sep.strip().lstrip(HASH) or (sep[:1] in HASH and sep and _hash_sets_particles_apart(text, match, grammar)):
            # punctuation after the particles: they were said to us
            return at if _blank_from(text, end) else end
        if (past_emoji := _past_leading_symbols_at(text, end)) is not None:  # an emoji after them, and more
            return past_emoji
    return at


def _hash_sets_particles_apart(text: str, particle: re.Match[str], grammar: Grammar) -> bool:
    """Whether the "#" glued to a particle (`particle`, `_LEADING_WORD`) sets the particles apart as punctuation does:
    before a keyword, a command or an ID that is no particle ("ANONIM ya#<id> ...", "LAPOR min#ANONIM#<isi>"), not
    before a word of the citizen's ("LAPOR pak#SaveKPK ...": the hashtag kept)."""
    after = particle.end("word")
    following = _MARKED_WORD.match(text, particle.end())
    return _glued_hash_end(text, after, grammar) not in (None, after) and (
        following is None or fold_word(following.group("word")) not in grammar.flag_particles)


def _parse_instructed(text: str, grammar: Grammar, shortest_id: int) -> ParsedText | None:
    """The form a citizen copied with help's instruction words before it (`[instructions]`: "ketik LAPOR ANONIM
    <isi>", "Cek status: CEK <id>", "Jenis: WBS <isi>", "Cek status: ketik CEK <id> kirim ke 1708.", "LAPOR! 1708:
    ketik LAPOR ANONIM <isi>", "Silakan kirim CEK <id> lagi nanti."), read as the form alone is; None when the text
    opens with none of them, or what follows is no form each of them introduces: then they are the citizen's words
    ("ketik KTP dipungut biaya", "Status: laporan saya belum ditindaklanjuti", "LAPOR! jalan rusak").

    Emoji and our short code may stand around them ("1708 ketik LAPOR ..."). One loop from the start, asked once at
    the top: what follows them is read as a message of its own, never back through here, so repeated instruction
    words cost no recursion."""
    at, read, bare = 0, [], False
    while True:
        found = _instruction_at(text, at, grammar, headers=not read)
        if found is not None and not found[2] and found[0].introduces is Introduces.QUERY and not (
                _status_command_at(text, found[1], grammar)
                or _instruction_at(text, found[1], grammar, headers=False) is not None):
            # A status word without its label's punctuation and no status command after it: the status command
            # itself ("LAPOR! Status laporan <id> ...").
            found = None
        if found is not None:
            instruction, at, punctuated = found
            read.append((instruction, punctuated))
            # Our name with nothing after it yet: only a status query may follow it (`_introduces`).
            bare = instruction.introduces is Introduces.HEADER
            continue
        past = _past_symbols_and_address_at(text, at, grammar)
        if past == at:
            break
        bare = bare and not any(char.isalnum() for char in text[at:past])  # our short code after it: "LAPOR! 1708:"
        at = past
    if not read:
        return None
    rest = text[at:]
    # A status label typed without its punctuation ("Cek status CEK <id>", "kirim CEK <id>"), or our name alone ("LAPOR!
    # Status laporan <id> ..."), only before a status command: "kirim 500000", "LAPOR: <id> ..." stay as they were.
    if (bare or any(instruction.introduces is Introduces.QUERY and not punctuated for instruction, punctuated in read)
            ) and not _status_command_at(text, at, grammar):
        return None
    if any(instruction.introduces is Introduces.FORM for instruction, _ in read):
        # A verb copied: the instruction copied whole, and so its closing ("... kirim ke 1708").
        rest = _without_closing(rest, grammar)
    parsed = replace(_parse_message(rest, grammar, shortest_id), language=detect_language(text, grammar, copied=True))
    if _mistyped_id_and_words(parsed) or not all(
            _introduces(instruction, parsed, punctuated, bare) for instruction, punctuated in read):
        return None
    header = next((instruction.words[0] for instruction, _ in read if instruction.introduces is Introduces.HEADER
                   and instruction.words[0] in grammar.kinds), None)
    if header is not None and parsed.action is Action.REPORT and not parsed.explicit_kind:
        # "LAPOR! 1708: ketik ANONIM <isi>": our name is a kind word, as "LAPOR ANONIM <isi>" reads it.
        parsed = replace(parsed, kind=grammar.kinds[header], explicit_kind=True)
    return parsed


def _instruction_at(text: str, at: int, grammar: Grammar, *, headers: bool) -> tuple[Instruction, int, bool] | None:
    """(the instruction, where it ends, the separators after it taken, whether they hold punctuation) when one of
    help's instruction words or phrases is typed at `at`, its words one space or more apart, set apart from what
    follows: a verb or a status label by anything, a kind label by punctuation ("Jenis:", "Jenis -"). Our answers'
    name only with `headers` (first: after it, "ketik LAPOR ..." and "1708: LAPOR ..." are the kind word)."""
    first = _WORD_AT.match(text, at)
    if first is None:
        return None
    for instruction in grammar.instructions.get(fold_word(first.group("word")), ()):  # longest first: "cek status"
        if instruction.introduces is Introduces.HEADER and not headers:
            continue
        match: re.Match[str] | None = first
        for following in instruction.words[1:]:
            assert match is not None
            sep = match.group("sep")
            match = _WORD_AT.match(text, match.end()) if sep and sep.isspace() else None
            if match is None or fold_word(match.group("word")) != following:
                match = None
                break
        if match is None:
            continue
        sep = match.group("sep")
        punctuated = sep.strip() != ""
        if punctuated if instruction.introduces is Introduces.KIND else _set_apart(text, match.end(), sep):
            return instruction, match.end(), punctuated
    return None


def _status_command_at(text: str, at: int, grammar: Grammar) -> bool:
    """Whether a status command ("CEK", "status") is typed at `at`, read where it is: no copy of the text's rest, so
    `_parse_instructed`'s loop stays linear however often a status label repeats."""
    word = _WORD_AT.match(text, at)
    return word is not None and fold_word(word.group("word")) in grammar.status_words


def _past_symbols_and_address_at(text: str, at: int, grammar: Grammar) -> int:
    """Where the emoji, spaces and our short codes or handles typed at `at` end (`_past_symbols_and_our_address`
    without copying the text: `_parse_instructed`'s loop stays linear however often they repeat)."""
    while True:
        start = at
        while at < len(text) and (text[at].isspace() or unicodedata.category(text[at]) in _EMOJI_CATEGORIES):
            at += 1
        name = _LEADING_NAME.match(text, at)
        if name is not None and fold_word(name.group("name")) in grammar.addressed_to and (
                (end := _our_address_end(text, name, grammar)) is not None):
            at = end
        if at == start:
            return at


def _introduces(instruction: Instruction, parsed: ParsedText, punctuated: bool, bare: bool) -> bool:
    """Whether what follows an instruction word is a form it introduces: a status query after "Cek status:" (one
    without an ID too: "Cek status: CEK", only with the label's punctuation) and after our name alone (`bare`), a report
    of a kind after "Jenis:", any of help's forms after "ketik" and after our name with our short code or another
    instruction after it."""
    if instruction.introduces is Introduces.QUERY or (instruction.introduces is Introduces.HEADER and bare):
        # A status question without an ID after them: only after the label's punctuation or, without it, a status
        # command, which `_parse_instructed` asked for ("LAPOR! CEK laporan saya", "kirim CEK"). Filed, it was a new
        # report under the citizen's number.
        return parsed.action in (Action.STATUS, Action.BAD_TRACKING_ID, Action.STATUS_HELP) or (
            parsed.action is Action.HELP and punctuated and instruction.introduces is Introduces.QUERY)
    report = parsed.action is Action.REPORT
    if instruction.introduces is Introduces.KIND:
        return report and parsed.explicit_kind
    return parsed.action in _FLAGGED_QUERIES or (
        report and (parsed.explicit_kind or parsed.anonymous or parsed.confidential))


def _without_closing(text: str, grammar: Grammar) -> str:
    """`text` without what help puts after a form at its end ("LAPOR jalan rusak kirim ke 1708." -> "LAPOR jalan
    rusak"; `[instructions]` closings), and the separators before it; as it was when it does not end so."""
    body = _without_closing_marks(text)
    for closing in grammar.instruction_closings:
        parts = body.rsplit(maxsplit=len(closing))
        if len(parts) == len(closing) + 1 and tuple(fold_word(part) for part in parts[1:]) == closing:
            return parts[0].rstrip(_TRAILING_OPEN)
    return text


def _without_placeholder_marks(text: str, grammar: Grammar) -> str:
    """`text` without the marks help puts around what the citizen fills in, when they open it ("<jalan rusak di depan
    SD>" -> "jalan rusak di depan SD", "<preman minta uang>: identitas dirahasiakan" as help's sentence copied whole).
    Only a pair opening the text, around words: "harga > 5000", "<3" and a number help's "<nomor lacak>" put in them
    ("<12345672> ...", a mistyped ID, "<17-08-2025> ...") stay as typed."""
    marked = grammar.placeholder.match(text) if grammar.placeholder is not None else None
    if marked is None or not any(char.isalpha() for char in marked.group("inside")):
        return text
    return marked.group("inside") + text[marked.end():]


def _flags_after_a_leading_id(text: str, at: int, grammar: Grammar, shortest_id: int = 0) -> set[str]:
    """The flags of the flag words right after a number of a Tracking ID's shape opening the words at `at` (after a
    kind word: "LAPOR <id> ANONIM foto", "ADUAN <id> RAHASIA: ...", "LAPOR <id> tambah anonim ..."), none when no
    number opens them, or a phone number does ("LAPOR 0812345678 ANONIM ..."). The words stay the text's, the number
    first: a kind word before an ID makes a new report, which asks the flags a follow-up would.

    An amount, a date or a time of day counts as a number there, whatever its check digit ("LAPOR 15.000.000 ANONIM
    ...", "17.08.2025 ANONIM ...", "10.30 ANONIM ...", `flags_only`), and so does any number typed in words or spaced
    apart (`_number_in_words_end`: "LAPOR 17 Agustus ANONIM ...", "LAPOR Rp 15.000.000 ANONIM ...", "15 juta ANONIM
    ...", "2025 ANONIM ...", "17 08 2025 RAHASIA ..."): only the flags are taken, and a flag read once too often is
    the safe error. So is anonymity wished after a term of address or a particle, as an addition's words after the ID
    are read (`_wishes_anonymity`: "LAPOR <id> pak ANONIM foto", as "<id> pak ANONIM foto"): missed, each went
    named."""
    unmarked = text[at:].lstrip(_ID_OPEN)
    digits = _LEADING_ID.match(unmarked)
    end = None
    if digits is not None:
        candidate, typed, end = _id_in(digits, ours=grammar.addressed_to, shortest_id=shortest_id)
        if not looks_like_tracking_id(candidate):
            end = None
        elif _is_prose_number(typed, candidate, flags_only=True) or any(map(_a_phone_number, typed.split())):
            return set()  # a phone number there, our short code before it too ("1708 0812345678 ANONIM ...")
    if end is None:
        dated = _LEADING_DATE_OR_TIME.match(unmarked)
        end = dated.end() if dated is not None else _number_in_words_end(unmarked, grammar)
        if end is None:
            return set()
    after = unmarked[end:]
    position, flags = len(after) - len(after.lstrip(_STATUS_ID_CLOSE)), set()
    while (taken := _leading_keyword_at(after, position, grammar, True, bool(flags))) is not None:
        word, position = taken
        flags.add(grammar.flags[word])
    if "anonymous" not in flags and _wishes_anonymity(_folded_words(after[position:], grammar), grammar):
        flags.add("anonymous")
    # Glued to a mark, as after an ID typed first ("LAPOR <id> ANONIM|foto", "1708 0008 RAHASIA|ada pungli").
    return flags | _glued_flags_at_head(after[position:], grammar, {"anonymous", "confidential"} - flags)


def _number_in_words_end(text: str, grammar: Grammar) -> int | None:
    """Where a number opening the text ends, typed in words or spaced apart: a currency before it (`[commands]
    amount_currencies`: "Rp 15.000.000"), and the numbers, units and months after it (`amount_only_units`, `months`:
    "15 juta", "17 Agustus 2025", "17 08 2025"); None when no number opens the text. Any other word ends it: "LAPOR
    2025 nomor anonim meneror saya" is prose."""
    at = 0
    currency = _CURRENCY_BEFORE.match(text)
    if currency is not None and fold_word(currency.group("word")) in grammar.amount_currencies:
        at = currency.end()
    number = _LEADING_NUMBER.match(text, at)
    if number is None or not _a_number_word(number.group("unit"), grammar) or _a_phone_number(number.group()):
        return None
    end = number.end()
    while (part := _NUMBER_PART.match(text, end)) is not None and (
            _a_number_word(part.group("unit"), grammar) if part.group("number")
            else fold_word(part.group("word")) in grammar.number_words):
        if part.group("number") and _a_phone_number(part.group("number")):
            return None  # "1708 081234567890 ANONIM meneror saya": the flag word is the citizen's, as without 1708
        end = part.end()
    return end


def _a_phone_number(token: str) -> bool:
    """Whether a number's digits are a phone number's (`_is_prose_number`; a date or an amount is none, nor a group
    opening with 0 shorter than any Indonesian number, `_PHONE_DIGITS`): a flag word after one is prose."""
    digits = "".join(char for char in token if char.isdecimal())
    return len(digits) >= MIN_LENGTH and _is_prose_number(token, digits, flags_only=True)


def _a_number_word(unit: str | None, grammar: Grammar) -> bool:
    """Whether what is glued to a number's digits (`_NUMBER_TOKEN`'s unit) keeps it a number: nothing, or a unit or a
    month ("500rb", "15jt", "17agustus"), not a word of the citizen's ("2025an")."""
    return unit is None or fold_word(unit) in grammar.number_words


# A label's colon and the spaces around it ("Tambahan: ...").
_LABEL_COLON = " \t\n" + with_compatibility_forms(":")


def _past_a_flag_opener(text: str, grammar: Grammar) -> int | None:
    """Where the text goes on after the flag opener opening it (`[flag_openers]`: "tambah", "mohon", ...), None when
    no such word opens it."""
    first = _HEAD_TOKEN.search(text)
    if first is None or text[:first.start()].strip() or fold_word(first.group()) not in grammar.flag_openers:
        return None
    return first.end()


def _parse_message(text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    """`parse_text` of a text whose leading emoji, if any, are part of it."""
    language = detect_language(text, grammar)
    # Only thanks, fillers and our names: no command or Tracking ID either ("1708 1708 alhamdulilah" read as the ID
    # 17081708, our short code twice, and was answered "not valid"). Only an opt-out word ("STOP", "UNREG 1708") or
    # only an opt-in word ("START", "YES"): as a courtesy, nothing to file and no answer wanted.
    short = _only_short_message_words(text, grammar)
    unanswered = (None if not short else Action.COURTESY if is_courtesy(text, grammar)
                  else Action.OPT_OUT if is_opt_out(text, grammar) else Action.OPT_IN if is_opt_in(text, grammar)
                  else None)
    if unanswered is None and _thanks_for_what_was_done(text, grammar):
        unanswered = Action.COURTESY
    command = None if unanswered else _parse_query(text, grammar, language, shortest_id, short)
    if command is not None:
        return command
    if not unanswered and (asked := _asks_how_to_report(text, grammar, language)) is not None:
        return asked

    kind, explicit, flags, at, unclosed_asked, compound = ReportKind.COMPLAINT, False, set(), 0, False, False
    spelled = False  # a space spelled out between the leading words ("LAPOR spasi ANONIM spasi <isi>"): a format's
    # Leading words: at most one kind keyword and any number of flag words, in any order (a word introducing a
    # flag word read with it: "Tambah ANONIM", `_leading_keyword_at`). Read by position, the text sliced once after
    # them: a copy of the rest a word made "anonim " 20,000 times cost time quadratic in the text.
    while True:
        taken, past = _leading_keyword_at(text, at, grammar, explicit, explicit or bool(flags)), None
        if taken is None and not unclosed_asked:
            # A group left open ("[ANONIM, RAHASIA pungli ..."), where the leading words first stop: once a message,
            # as the brackets after it are counted.
            unclosed_asked, taken = True, _unclosed_group_first_at(text, at, grammar)
        if taken is None and (explicit or flags):
            # Our short code or emoji between them ("LAPOR 1708 ANONIM ...", "LAPOR 🙏 ANONIM ..."), skipped when a
            # keyword follows them. Missed, the ANONIM was the text's and the reporter's number went to the agency.
            past = _past_symbols_and_our_address_at(text, at, grammar)
            taken = (_leading_keyword_at(text, past, grammar, explicit, True)
                     if past is not None and past < len(text) else None)
        if taken is None and (explicit or flags) and (spaced := _past_spelled_space_at(
                text, at if past is None else past, grammar)) is not None and (
                after := _leading_keyword_at(text, spaced, grammar, explicit, True)) is not None:
            # A space spelled out between them, as Indonesian SMS services write their formats ("ketik LAPOR spasi
            # ANONIM spasi <isi>") and citizens type them: the ANONIM was the text's, the number sent to the agency.
            past, taken, spelled = spaced, after, True
        if taken is None and explicit:
            taken = _second_kind_after(text, at, past, grammar, kind)
        if flags and not explicit and (taken is None or taken[0] in grammar.kinds):
            # The flags end here: what follows them may be a query or a follow-up ("ANONIM CEK <id>", "ANONIM
            # laporan <id>", before "laporan" is taken as a kind). Asked once, so the loop stays linear in the text.
            asked = _flagged_query(text[past:] if past is not None and not _blank_from(text, past) else text[at:],
                                   grammar, language, shortest_id, flags)
            if asked is not None:
                return asked
        if taken is None:
            break
        word, end = taken
        if word in grammar.kinds:
            # A second kind word names the kind when the first was the generic "LAPOR" ("LAPOR WBS ANONIM ...").
            if not explicit or kind is ReportKind.COMPLAINT:
                kind = grammar.kinds[word]
            explicit = True
        else:
            flags.add(grammar.flags[word])
            typed_at = at if past is None else past  # after our short code or emoji read past ("LAPOR 🙏 RAHASIA ...")
            if _opens_a_compound(text, typed_at, end, word, grammar):  # "Rahasia negara ...": the words stay the text's
                at, compound = typed_at, True
                break
        at = end
    if (explicit or flags) and not compound and (
            spaced := _past_spelled_space_at(text, at, grammar, spaced=True)) is not None and (
            spelled or _SPELLED_SPACE.match(text, at).group("close") or _blank_from(text, spaced)
            or text[spaced].isdigit() or _status_command_at(text, spaced, grammar)
            or _flag_or_particle_at(text, spaced, grammar)):
        # The format's: bracketed ("LAPOR (spasi) <isi>"), before a query ("LAPOR spasi CEK <id>") or a word of ours
        # ("LAPOR spasi pak ANONIM <isi>": left, the ANONIM after it was the citizen's and their number reached the
        # agency), or after one between the keywords ("LAPOR spasi ANONIM spasi <isi>"). Else before words of the
        # citizen's it is theirs:
        # "REPORT space for wheelchairs is blocked", "ANONIM space heater ...", "LAPOR spasi antara ..." lost it.
        at = spaced
    if explicit and ((commanded := _status_command_at(text, at, grammar)) or text[at:at + 1].isdigit()):
        # A status query after the kind word ("WBS CEK <id>", "LAPOR ANONIM CEK <id>", "LAPOR <id>"): filed, it was a
        # new case holding a command and a number. Asked only where one may start: every report opens with a kind word.
        asked = _flagged_query(text[at:], grammar, language, shortest_id, flags, after_kind=True,
                               commanded=bool(commanded))
        if asked is not None:
            return asked
    if explicit and not compound:
        # "LAPOR <id> ANONIM foto": a new report, the number opening its text, and the flag words after the number
        # are the whistleblower's wish, read as after an ID typed first. Missed, the report went named.
        flags |= _flags_after_a_leading_id(text, at, grammar, shortest_id)
    elif not at and (opened := _past_a_flag_opener(text, grammar)) is not None:
        # "TAMBAH <id> ANONIM foto", help's "Tambah ANONIM" written around the report's ID: a new report of the
        # whole text, as "tambah" opens prose ("tambah 13000000 lagi diminta petugas": read as a label, such amounts
        # went to a stranger's report), and the flag words after the number are the wish. Missed, it went named.
        # So after help's label and its colon ("Tambahan: 15.000.000 ANONIM ...", "Tambahan: 1708 17 ANONIM ...").
        flags |= _flags_after_a_leading_id(text, len(text) - len(text[opened:].lstrip(_LABEL_COLON)), grammar,
                                           shortest_id)
    elif not at and (text[:1].isdigit() or text[:1] in _ID_OPEN or text[:1] in HASH
                     or _CURRENCY_BEFORE.match(text) is not None):
        # "10.000.012 ANONIM foto": an ID grouped as an amount is ("12.500.000 diminta ..."), opening a report of the
        # whole text (an addition only typed as one run of digits), its flag words read as after "LAPOR". Missed, it
        # went named. So after "#" ("#1708 17 ANONIM ...": our short code and a number, no ID), and after a number
        # typed in words ("2025 ANONIM ...", "17 Agustus RAHASIA ...", "Rp 15.000.000 ANONIM ...").
        flags |= _flags_after_a_leading_id(text, 0, grammar, shortest_id)
    if at and not compound and (past_particles := _past_flag_particles_at(text, at, grammar)) != at:
        at = past_particles
        # Flag words after them, as after the leading words ("LAPOR pak, ANONIM kades ...", "ANONIM ya. RAHASIA ..."):
        # read as the text's first word, the ANONIM was the citizen's and their number reached the agency.
        while (taken := _leading_keyword_at(text, at, grammar, True, True)) is not None:
            word, end = taken
            flags.add(grammar.flags[word])
            if _opens_a_compound(text, at, end, word, grammar):  # "LAPOR pak, Rahasia negara ...": the words stay
                compound = True
                break
            at = _past_flag_particles_at(text, end, grammar)
        # "ANONIM aja. CEK <id>": the query after the particles, our short code and emoji before it only read past
        # ("ANONIM aja. 1708 CEK <id>"). Read as a message of its own (`_parse_addressed`), each "anonim aja. 1708 "
        # repeated read the rest anew: a mail of them (17 kB) went past the recursion limit.
        asked_at = _past_symbols_and_our_address_at(text, at, grammar)
        if asked_at is None or _blank_from(text, asked_at):
            asked_at = at
        if flags and not explicit and (asked := _flagged_query(
                text[asked_at:], grammar, language, shortest_id, flags, addressed=False)) is not None:
            return asked
    rest = text[at:]
    # Flags as hashtags anywhere.
    for match in _HASHTAG.finditer(rest) if _HASH_MARK.search(rest) is not None else ():
        tag = fold_word(match.group("tag"))
        if asked_for := _read_hashtag(match, grammar)[0]:
            flags.update(asked_for)
        elif tag in grammar.kinds and not explicit:
            kind, explicit = grammar.kinds[tag], True
    rest = _text_without_flags(rest, grammar, flags)
    if _without_our_address(rest, grammar) == "":  # "LAPOR 1708": a keyword and our short code, nothing to file
        rest = ""
    elif explicit and not unanswered and (
            asked := _parse_status_question(rest, grammar, language, shortest_id, set(flags))) is not None:
        # A status question after the kind word, without an ID ("Lapor pak, nomor saya berapa?") or with one
        # ("LAPOR! gimana laporan 12345678?"): filed, the question was a new report under the citizen's number. Its
        # kind is kept for a photo sent with it ("WBS laporan saya?"). Its flag words are read into a copy: in a
        # report's prose they are the citizen's ("LAPOR nomor anonim meneror saya" was anonymous).
        return replace(asked, kind=kind, explicit_kind=True)
    elif (explicit or flags) and not unanswered and _only_greeting_or_thanks(rest, grammar):
        # A keyword and a greeting or thanks alone ("ANONIM halo", "WBS halo min", "LAPOR ANONIM terima kasih"):
        # nothing reported yet, a report of no words (help, `normalize`; with a photo, the photo's, its flags kept).
        # Filed, an agency got a case of "halo".
        rest = ""
    return ParsedText(
        # A courtesy (an opt-out or opt-in too) keeps what a report of it would hold: sent with a photo, it is a
        # report (`normalize`).
        action=unanswered or Action.REPORT,
        text=rest,
        kind=kind,
        explicit_kind=explicit,
        anonymous="anonymous" in flags,
        confidential="confidential" in flags,
        language=language,
    )
