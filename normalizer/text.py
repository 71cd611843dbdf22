"""Text cleaning: what every channel's text goes through first."""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls, DEL, zero-width and bidi overrides; newlines and tabs survive as plain whitespace.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """NFC, no control characters, runs of spaces folded, at most one blank line, trimmed.

    NFC comes last: removing a control character can bring a base letter and a combining mark together
    ("a\\x00\\u0308"), which only a normalization after the removal composes.
    """
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return unicodedata.normalize("NFC", _BLANK_LINES.sub("\n\n", text).strip())
