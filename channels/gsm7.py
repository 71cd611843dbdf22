"""GSM 03.38 text: what fits in one SMS, and how a longer reply is split.

One character outside the GSM-7 alphabet makes the whole message UCS-2 (70 characters, 67 per part), so every
reply is first made GSM-7 safe (`to_gsm7`), then split into parts when it exceeds 160: 153 septets each beside a
concatenation UDH with an 8-bit reference (6 bytes), 152 beside one with a 16-bit reference (7 bytes).
"""

from __future__ import annotations

import unicodedata

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table: each costs two septets (escape + char).
GSM7_EXTENDED = "^{}\\[~]|€\f"

_GSM7_ALL = frozenset(GSM7_BASIC + GSM7_EXTENDED)

SINGLE_PART = 160
MULTI_PART = 153
MULTI_PART_16 = 152

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "*", "\t": " ",
}


def septets(text: str) -> int:
    """Length in GSM-7 septets; ValueError for a character outside GSM-7."""
    total = 0
    for char in text:
        if char in GSM7_BASIC:
            total += 1
        elif char in GSM7_EXTENDED:
            total += 2
        else:
            raise ValueError(f"not GSM-7: {char!r}")
    return total


def is_gsm7(text: str) -> bool:
    try:
        septets(text)
    except ValueError:
        return False
    return True


def to_gsm7(text: str) -> str:
    """Replace typographic characters, strip accents not in GSM-7, drop what cannot be written (emoji)."""
    if _GSM7_ALL.issuperset(text):  # already GSM-7 (every Tracking-ID reply): nothing to replace
        return text
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in char):
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(base if base and is_gsm7(base) else "")
    return "".join(out)


def split_parts(text: str, part_septets: int = MULTI_PART) -> list[str]:
    """One part if it fits 160 septets, else parts of `part_septets` (never splitting an escape pair)."""
    if septets(text) <= SINGLE_PART:
        return [text]
    parts, current, used = [], [], 0
    for char in text:
        cost = 2 if char in GSM7_EXTENDED else 1
        if used + cost > part_septets:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    if current:
        parts.append("".join(current))
    return parts
