"""The subject openings of machine mail (`config/email.toml`): an autoresponder's ("Automatic reply:", "Balasan
otomatis:", "AUTO:") and a calendar's answer to an invitation ("Accepted:", "Diterima:"). Data, not code; compiled once
per path, and loaded and checked as a process starts (`gateway.tables`), so a mistake in the table stops the start
instead of the first mail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gateway.settings import CONFIG_DIR, _read_toml
from normalizer.text import with_compatibility_forms

EMAIL_TABLE = "email.toml"
# The sections (and their keys) the table cannot be read without (checked as a process starts: `gateway.tables`).
EMAIL_REQUIRED: dict[str, tuple[str, ...]] = {"autoreply_subjects": ("prefixes",),
                                              "calendar_reply_subjects": ("prefixes",)}
_COLONS = re.escape(with_compatibility_forms(":"))


@dataclass(frozen=True, slots=True)
class MachineWords:
    autoreply_subject: re.Pattern[str]
    calendar_reply_subject: re.Pattern[str]


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


def _openings(table: dict[str, object], section: str) -> re.Pattern[str]:
    entries = table[section]["prefixes"]  # type: ignore[index]
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, str) for entry in entries):
        raise TypeError(f"[{section}] prefixes must be a list of texts")
    return re.compile(rf"^\s*(?:{'|'.join(_prefix(entry) for entry in entries)})", re.IGNORECASE)


@lru_cache(maxsize=4)
def load_machine_words(path: Path = CONFIG_DIR / EMAIL_TABLE) -> MachineWords:
    table = _read_toml(path)
    return MachineWords(autoreply_subject=_openings(table, "autoreply_subjects"),
                        calendar_reply_subject=_openings(table, "calendar_reply_subjects"))
