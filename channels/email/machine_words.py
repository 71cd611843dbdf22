"""The words of machine mail (`config/email.toml`): the subject openings of an autoresponder ("Automatic reply:",
"Balasan otomatis:", "AUTO:"), a calendar's answer to an invitation ("Accepted:", "Diterima:"), an Outlook message
recall ("Recall:"), a Lotus Notes return receipt ("Return Receipt") and a plain-text bounce ("Undeliverable:"); the
phrases of a recall's and a return receipt's text; the senders of bounces (postmaster) and of mail that takes no
answer (noreply). Data, not code; compiled once per path, and loaded and checked as a process starts
(`gateway.tables`), so a mistake in the table stops the start instead of the first mail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gateway.settings import CONFIG_DIR, _read_toml
from normalizer.text import with_compatibility_forms

EMAIL_TABLE = "email.toml"
# The sections (and their keys) the table cannot be read without (checked as a process starts: `gateway.tables`).
EMAIL_REQUIRED: dict[str, tuple[str, ...]] = {
    "autoreply_subjects": ("prefixes",), "calendar_reply_subjects": ("prefixes",), "recall": ("subjects", "texts"),
    "return_receipt": ("subjects", "texts"), "bounce": ("subjects", "senders"), "noreply_senders": ("local_parts",)}
_COLONS = re.escape(with_compatibility_forms(":"))


@dataclass(frozen=True, slots=True)
class MachineWords:
    autoreply_subject: re.Pattern[str]
    calendar_reply_subject: re.Pattern[str]
    recall_subject: re.Pattern[str]
    recall_text: re.Pattern[str]
    return_receipt_subject: re.Pattern[str]
    return_receipt_text: re.Pattern[str]
    bounce_subject: re.Pattern[str]
    bounce_senders: frozenset[str]
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


# What a "..." of a notice's text stands for: a name, a subject or a time, on one line (at most 200 characters), with
# white space and line ends around it (a notice's table wraps its labels). Not two lines of words: a citizen's own
# line before or after a notice they quote makes the text theirs.
_GAP = r"\s*[^\n]{0,200}?\s*"


def _phrase(entry: str) -> str:
    """One notice's whole text as a pattern: its words with any run of white space (a line end too) between them,
    each "..." standing for one line's worth of any text (`_GAP`: the name, subject or time the notice writes there)."""
    pieces = [piece.split() for piece in entry.split("...")]
    if not any(pieces) or not all(pieces[1:-1]):
        raise ValueError(f"an empty phrase or piece of one ({entry!r})")
    return _GAP.join(r"\s+".join(map(re.escape, words)) for words in pieces)


def _phrases(table: dict[str, object], section: str, key: str) -> re.Pattern[str]:
    """The section's texts as one pattern of a whole text (`fullmatch`): a notice's text, and nothing more."""
    return re.compile("|".join(f"(?:{_phrase(entry)})" for entry in _texts(table, section, key)), re.IGNORECASE)


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


@lru_cache(maxsize=4)
def load_machine_words(path: Path = CONFIG_DIR / EMAIL_TABLE) -> MachineWords:
    table = _read_toml(path)
    return MachineWords(autoreply_subject=_openings(table, "autoreply_subjects"),
                        calendar_reply_subject=_openings(table, "calendar_reply_subjects"),
                        recall_subject=_openings(table, "recall", "subjects"),
                        recall_text=_phrases(table, "recall", "texts"),
                        return_receipt_subject=_openings(table, "return_receipt", "subjects"),
                        return_receipt_text=_phrases(table, "return_receipt", "texts"),
                        bounce_subject=_openings(table, "bounce", "subjects"),
                        bounce_senders=frozenset(_local_parts(table, "bounce", "senders")),
                        noreply_sender=_noreply(table))
