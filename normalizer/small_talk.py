"""What a whole message is when it is no report: thanks, a greeting, an opt-out or opt-in, a question left open.

The checks the pipeline and the parse ask of a message's words as a whole (`is_courtesy`, `is_greeting`,
`is_opt_out`, `is_opt_in`, `awaits_an_answer`, our closing phrase), and the language it is written in
(`detect_language`).
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from gateway.settings import CONFIG_DIR
from normalizer.grammar import Grammar, WordTable
from normalizer.text import fold_word, phrase_pattern
from normalizer.tokens import _QUESTION_MARK, _WORDS, _folded_tokens, _squeeze


def detect_language(text: str, grammar: Grammar, *, copied: bool = False) -> str:
    """'en' when English markers clearly outnumber Indonesian ones, at least twice as many (`TRACK <id>`: one to
    none); Indonesian is the default, and the answer to a message mixing both ("Min, the road di depan rumah gw broken
    banget, please fix asap", "the road rusak, jalan broken": one English word more was enough for English).
    `copied`: the text copies one of help's instructions, and our English answers' words count too
    (`copied_english_markers`).

    Every SMS goes through this: the markers are counted by `sum` over `map` of the sets' lookups, in C, where one
    Python loop over the words cost twice as much (and two generator sums a third more than that)."""
    english_markers = grammar.copied_english_markers if copied else grammar.english_markers
    # An ASCII text is lowercased once, not word by word. Any other is folded word by word: folded whole, a letter
    # whose fold is no letter ("İ" lowercases to "i" and a combining dot) cut its word in two ("İS" read as "i", "s").
    words = _WORDS.findall(text.lower()) if text.isascii() else [fold_word(word) for word in _WORDS.findall(text)]
    english = sum(map(english_markers.__contains__, words))
    indonesian = sum(map(grammar.indonesian_markers.__contains__, words))
    return "en" if english and english >= _ENGLISH_MARGIN * indonesian else "id"


# How many times the Indonesian markers the English ones must be for an English answer (`detect_language`).
_ENGLISH_MARGIN = 2


def is_courtesy(text: str, grammar: Grammar) -> bool:
    """Whether the text is only thanks or an "ok": a courtesy phrase or emoji at least, fillers and our names, other
    punctuation and emoji. Any other word or number makes it something more."""
    return _made_only_of(text, grammar.courtesy)


@lru_cache(maxsize=1)
def closing_phrase(path: Path = CONFIG_DIR / "identity.toml") -> re.Pattern[str]:
    """A line that is only a mail's closing phrase (config/identity.toml's `[closings]`, which the anonymous mail's
    sign-off is read with too: "Hormat saya,", "Salam,", "Wassalamualaikum", "Best regards,"), its punctuation
    around it; case-insensitive."""
    with path.open("rb") as handle:
        phrases = tomllib.load(handle)["closings"]["phrases"]
    words = [phrase_pattern(phrase) for phrase in sorted(phrases, key=len, reverse=True)]
    return re.compile(rf"[^\w\n]*(?:{'|'.join(words)})[^\w\n]*", re.IGNORECASE)


def awaits_an_answer(text: str, grammar: Grammar) -> bool:
    """Whether a courtesy's words wait for our answer ("ditunggu tindak lanjutnya"; `[courtesy] awaiting`)."""
    return not grammar.awaiting.isdisjoint(_folded_tokens(text))


def is_greeting(text: str, grammar: Grammar) -> bool:
    """Whether the text is only a greeting ("Halo", "P", "Selamat pagi min"): no report yet, answered with help."""
    return _made_only_of(text, grammar.greeting)


def is_opt_out(text: str, grammar: Grammar) -> bool:
    """Whether the text is only an opt-out word ("STOP", "UNREG", "Berhenti", "batal langganan"), our names around it
    at most: no report, and no answer to someone who asked for none."""
    return _made_only_of(text, grammar.opt_out)


def is_opt_in(text: str, grammar: Grammar) -> bool:
    """Whether the text is only an opt-in word ("START", "UNSTOP", "YES"), our names around it at most: Twilio's
    words for receiving SMS again, nothing to file or answer."""
    return _made_only_of(text, grammar.opt_in)


def _only_short_message_words(text: str, grammar: Grammar) -> bool:
    """Whether every word of the text is in one of the short-message tables' vocabularies: only then is each table
    asked. Most messages fail at their first or second word, once instead of four times."""
    vocabulary = grammar.short_message_vocabulary
    return all(word in vocabulary or _squeeze(word) in vocabulary for word in _folded_tokens(text))


def _thanks_for_what_was_done(text: str, grammar: Grammar) -> bool:
    """Whether the text thanks us for what became of the report and says nothing else ("Terima kasih, laporan saya
    sudah ditindaklanjuti", "laporan sudah selesai, makasih pak"): a courtesy, as thanks alone is. Filed, it was a new
    case at an agency and an acknowledgement for a report nobody made. Not a question ("?": "laporan saya sudah
    diproses?" asks), nor with any other word ("belum", "tapi", "jalan"): those may be a grievance."""
    if _QUESTION_MARK.search(text) is not None or not _made_only_of(text, grammar.thanks_for_done):
        return False
    words = {_squeeze(word) for word in _folded_tokens(text)}
    return not words.isdisjoint(grammar.done_words) and not words.isdisjoint(grammar.done_states)


def _only_greeting_or_thanks(text: str, grammar: Grammar) -> bool:
    """Whether the text is only a greeting or only thanks (`is_greeting`, `is_courtesy`)."""
    return _only_short_message_words(text, grammar) and (is_greeting(text, grammar) or is_courtesy(text, grammar))


def _made_only_of(text: str, table: WordTable) -> bool:
    """Whether the text holds a phrase (or an emoji) of the table at least, and otherwise only its fillers and names,
    punctuation and emoji.

    Asked only of a text whose words are all in some table (`_only_short_message_words`); another table's word ends
    it before any phrase is looked for (squeezing a word costs a regex, so only a word not found as typed is)."""
    squeezed: list[str] = []
    for word in _folded_tokens(text):
        if word not in table.vocabulary:
            word = _squeeze(word)  # vocabulary words are squeezed: one found as typed has no letter twice
            if word not in table.vocabulary:
                return False
        squeezed.append(word)
    found, at = False, 0
    while at < len(squeezed):
        longest = min(table.longest_phrase, len(squeezed) - at)
        length = next((n for n in range(longest, 0, -1) if tuple(squeezed[at:at + n]) in table.phrases), 0)
        if length:
            found = True
        elif squeezed[at] in table.fillers or squeezed[at] in table.names:
            length = 1
        else:
            return False
        at += length
    return found or any(ch in table.emoji for ch in text)
