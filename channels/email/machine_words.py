"""The words of machine mail (`config/email.toml`): the subject openings of an autoresponder ("Automatic reply:",
"Balasan otomatis:", "AUTO:"), a calendar's answer to an invitation ("Accepted:", "Diterima:"), an Outlook message
recall ("Recall:"), a Lotus Notes return receipt ("Return Receipt") and a plain-text bounce ("Undeliverable:"); the
whole texts of a recall and a return receipt (`NoticeText`); the senders of bounces (postmaster, "Mail Delivery
System") and the first words of their texts ("This is the mail system at host"); the senders of mail that takes no
answer (noreply). Data, not code; compiled once per path, and loaded and checked as a process starts
(`gateway.tables`), so a mistake in the table stops the start instead of the first mail.

A notice's text is known whole, its "..." standing for the name or the subject it writes on its own line: what a
citizen writes on that line, where the name or the subject stands ("Tolong. Dewi Kartika would like to recall ...",
"Your document: Jalan rusak, sudah 3 bulan"), is taken for the notice's, and the mail is dropped with it; words on a
line of their own, after the recall's closing '".' or after the receipt's time ("{time}"), and a "?" or "!" with
words after it in a "...", make the mail the citizen's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gateway.settings import CONFIG_DIR, _read_toml
from normalizer.text import with_compatibility_forms

EMAIL_TABLE = "email.toml"
# The sections (and their keys) the table cannot be read without (checked as a process starts: `gateway.tables`).
# `[bounce] names` and `openings` came after the rest: a table customised before them lacks them, and reads them as
# empty (`_folded_entries`) rather than stopping every process at its upgrade.
EMAIL_REQUIRED: dict[str, tuple[str, ...]] = {
    "autoreply_subjects": ("prefixes",), "calendar_reply_subjects": ("prefixes",), "recall": ("subjects", "texts"),
    "return_receipt": ("subjects", "texts"), "bounce": ("subjects", "senders"), "noreply_senders": ("local_parts",)}
_COLONS = re.escape(with_compatibility_forms(":"))


@dataclass(frozen=True, slots=True)
class MachineWords:
    autoreply_subject: re.Pattern[str]
    calendar_reply_subject: re.Pattern[str]
    recall_subject: re.Pattern[str]
    recall_texts: tuple[NoticeText, ...]
    return_receipt_subject: re.Pattern[str]
    return_receipt_texts: tuple[NoticeText, ...]
    bounce_subject: re.Pattern[str]
    bounce_senders: frozenset[str]
    # Folded (`folded`): compared with a sender's name and with a text's start by plain string comparison.
    bounce_names: frozenset[str]
    bounce_openings: tuple[str, ...]
    noreply_sender: re.Pattern[str]


def _prefix(entry: str) -> str:
    """One entry as a pattern: its words with any run of spaces between them, a colon closing it with spaces before
    it or in a fullwidth form; an entry without a colon ends where a word does."""
    words = entry.strip()
    colon = words.endswith(":")
    words = words.removesuffix(":").split()
    if not words:
        raise ValueError(f"an empty subject opening ({entry!r})")
    body = r"\s+".join(map(re.escape, words))
    return body + (rf"\s*[{_COLONS}]" if colon else r"(?!\w)")


def _texts(table: dict[str, object], section: str, key: str) -> list[str]:
    entries = table[section][key]  # type: ignore[index]
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, str) for entry in entries):
        raise TypeError(f"[{section}] {key} must be a list of texts")
    return entries


def _openings(table: dict[str, object], section: str, key: str = "prefixes") -> re.Pattern[str]:
    entries = _texts(table, section, key)
    return re.compile(rf"^\s*(?:{'|'.join(_prefix(entry) for entry in entries)})", re.IGNORECASE)


# A notice's text is read by `NoticeText.matches`, never by one regular expression of the whole text: a pattern with
# several gaps of "any text on a line" gives a text that repeats its labels many ways to be split, and trying them all
# took minutes on a 600-character mail (the whole process stopped: `re` holds the GIL through a match).

# What a "..." of a notice's text stands for: a name or a subject, on one line: at most 200 characters between the
# white space and line ends around them (a notice's table wraps its labels), no line end inside (a citizen's own line
# before or after a notice they quote makes the text theirs), and no question or exclamation mark with words after it
# ("Kenapa ditarik? Dewi Kartika would like to recall ...": a citizen's question, then the notice).
GAP_CHARS = 200
_SENTENCE_THEN_WORDS = re.compile(r"[?!]\s+\w")
# What a "{time}" stands for: a date and a time of day as a mail client writes them ("05/12/2026 10:05:01",
# "12/05/2026 10:05:01 AM", "05.12.2026 10.05", "2026-12-05 10:05 WIB", "... 10:05:01 AM ZE7"), and nothing after them:
# a citizen's words after the receipt's time ("... at: 05/12/2026 10:05 tapi sampai sekarang ...") make it theirs.
_TIME = re.compile(r"\d{1,4}([/.-])\d{1,2}\1\d{1,4},?\s\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?[ap]\.?m\.?)?"
                   r"(?:\s(?-i:[A-Z]{2,5}|ZE\d{1,2}|(?:GMT|UTC)[+-]\d{1,2}(?::?\d{2})?))?", re.IGNORECASE)
TIME = "{time}"
_GAPS = re.compile(r"(\.\.\.|\{time\})")


def _gap_holds(kind: str | None, gap: str) -> bool:
    """Whether `gap` (the text between two pieces, or before the first or after the last) is what `kind` stands for:
    nothing but white space where the text has no gap (None), one line's worth of text ("..."), a time ("{time}")."""
    content = gap.strip()
    if kind is None:
        return not content
    if kind == TIME:
        return _TIME.fullmatch(content) is not None
    return "\n" not in content and len(content) <= GAP_CHARS and _SENTENCE_THEN_WORDS.search(content) is None


@dataclass(frozen=True, slots=True)
class NoticeText:
    """One notice's whole text (config/email.toml): its pieces of words in order, and what stands before, between
    and after them (`gaps`, one more than the pieces: None where the text has nothing there, "..." or "{time}")."""

    pieces: tuple[re.Pattern[str], ...]
    gaps: tuple[str | None, ...]

    def matches(self, text: str) -> bool:
        """Whether `text` (white space compacted: `guards._compact`) is this notice's text whole. Each piece is taken
        at its leftmost place after the one before (the first at the text's start where nothing stands before it, the
        last at its end where nothing stands after it: `_piece`), and each gap must hold what its kind stands for.
        Each piece is looked for once, from where the one before ended: the work grows with the text's length, never
        with the ways it could be split. A text that would fit only with a piece taken further on (a subject on the
        receipt's line that holds the whole word "was") is not known as the notice: filed, a bogus case, never a lost
        report."""
        position = 0
        for index, piece in enumerate(self.pieces):
            found = piece.match(text) if index == 0 and self.gaps[0] is None else piece.search(text, position)
            if found is None or not _gap_holds(self.gaps[index], text[position:found.start()]):
                return False
            position = found.end()
        return _gap_holds(self.gaps[-1], text[position:])


def _piece(words: list[str], *, ends_text: bool = False) -> re.Pattern[str]:
    """A piece's words with any run of white space between them, each of its ends a word's end where it is a letter
    ("was" is not read in "pengawasan", "at:" not in "Surat:"); the text's end after it where it `ends_text` (the
    recall's closing '".')."""
    body = r"\s+".join(map(re.escape, words))
    before = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", words[-1][-1]) else ""
    return re.compile(before + body + after + (r"\Z" if ends_text else ""), re.IGNORECASE)


def _notice_text(entry: str) -> NoticeText:
    """One notice's whole text: its words, with white space of any kind between them (a line end too), and "..." or
    "{time}" where the notice writes a name, a subject or a time (`_gap_holds`)."""
    parts = _GAPS.split(entry)
    pieces = [part.split() for part in parts[0::2]]
    kinds = parts[1::2]
    if not any(pieces) or not all(pieces[1:-1]):
        raise ValueError(f"an empty phrase or piece of one ({entry!r})")
    between = [kind for index, kind in enumerate(kinds) if pieces[index] and pieces[index + 1]]
    gaps = (kinds[0] if not pieces[0] else None, *between, kinds[-1] if not pieces[-1] else None)
    return NoticeText(pieces=tuple(_piece(words, ends_text=words is pieces[-1] and gaps[-1] is None)
                                   for words in pieces if words), gaps=gaps)


def _notice_texts(table: dict[str, object], section: str, key: str) -> tuple[NoticeText, ...]:
    """The section's texts, each a notice's whole text: a notice's text, and nothing more."""
    return tuple(_notice_text(entry) for entry in _texts(table, section, key))


def _local_parts(table: dict[str, object], section: str, key: str) -> list[str]:
    entries = [entry.strip().lower() for entry in _texts(table, section, key)]
    if not all(entries) or any(re.search(r"[\s@]", entry) for entry in entries):
        raise ValueError(f"[{section}] {key}: a local part is one word, without '@' ({entries!r})")
    return entries


def _noreply(table: dict[str, object]) -> re.Pattern[str]:
    """The words of a sender that reads no answer, in a local part, as a whole token between `-`, `_`, `.`, `+` or
    its ends, each `-` of an entry standing for any one of `-`, `_`, `.` or none ("no-reply" finds "noreply",
    "no_reply", "no.reply"): "noreply-dmarc-support", "tlsrpt-noreply", "sistem.no-reply"; not "norepl",
    "noreplyanto"."""
    entries = _local_parts(table, "noreply_senders", "local_parts")
    words = [r"[-_.]?".join(map(re.escape, entry.split("-"))) for entry in entries]
    return re.compile(rf"(?:^|[-_.+])(?:{'|'.join(words)})(?:$|[-_.+])", re.IGNORECASE)


def folded(text: str) -> str:
    """The text with each run of white space one space, without case, trimmed: how a bounce's name and first words are
    compared (plain string methods, no pattern: the work is one pass over what is read, whatever the text holds)."""
    return " ".join(text.split()).casefold()


def _folded_entries(table: dict[str, object], section: str, key: str) -> tuple[str, ...]:
    """The section's texts, folded; none when the key is missing or its list empty (a table customised before the key
    came), none blank: a blank name is every nameless sender's, a blank opening every text's (each mail one sign of a
    bounce on its way to two)."""
    entries = table[section].get(key, [])  # type: ignore[attr-defined]
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise TypeError(f"[{section}] {key} must be a list of texts")
    entries = tuple(folded(entry) for entry in entries)
    if not all(entries):
        raise ValueError(f"[{section}] {key}: a blank entry")
    return entries


@lru_cache(maxsize=4)
def load_machine_words(path: Path = CONFIG_DIR / EMAIL_TABLE) -> MachineWords:
    table = _read_toml(path)
    return MachineWords(autoreply_subject=_openings(table, "autoreply_subjects"),
                        calendar_reply_subject=_openings(table, "calendar_reply_subjects"),
                        recall_subject=_openings(table, "recall", "subjects"),
                        recall_texts=_notice_texts(table, "recall", "texts"),
                        return_receipt_subject=_openings(table, "return_receipt", "subjects"),
                        return_receipt_texts=_notice_texts(table, "return_receipt", "texts"),
                        bounce_subject=_openings(table, "bounce", "subjects"),
                        bounce_senders=frozenset(_local_parts(table, "bounce", "senders")),
                        bounce_names=frozenset(_folded_entries(table, "bounce", "names")),
                        bounce_openings=_folded_entries(table, "bounce", "openings"),
                        noreply_sender=_noreply(table))
