"""Text cleaning: what every channel's text goes through first."""

from __future__ import annotations

import re
import unicodedata

# The invisible format characters (a character class's body): soft hyphen, Arabic letter mark, Mongolian vowel
# separator, zero-width characters and directional marks, bidi embeddings and overrides, word joiner and invisible
# operators, isolates and deprecated format controls, byte order mark, interlinear annotation marks. Kept, one inside
# or after a word cut it, and the grammar missed an "ANONIM\u2060" or a "CEK\u00ad <id>". The channels read them as
# spaces where they read a text before it is cleaned (`channels.social`: the leading handles).
INVISIBLE_FORMAT = r"\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
# C0/C1 controls and DEL, and the invisible format characters; newlines and tabs survive as plain whitespace.
_CONTROL = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{INVISIBLE_FORMAT}]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """NFC, no control characters, runs of spaces folded, at most one blank line, trimmed.

    NFC comes last: removing a control character can bring a base letter and a combining mark together
    ("a\\x00\\u0308"), which only a normalization after the removal composes.

    Every message goes through this, a few times (its text, quoted posts, the sender's name): a text that is one line
    of printable ASCII without a run of spaces or a space at either end, most SMS, is already clean, and is returned
    as it is; so is the empty text.
    """
    if not text or (text.isascii() and text.isprintable() and "  " not in text and text[0] != " " != text[-1]):
        return text
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return unicodedata.normalize("NFC", _BLANK_LINES.sub("\n\n", text).strip())


# The compatibility forms of ASCII punctuation: fullwidth (U+FF01-FF5E), small (U+FE50-FE6B) and vertical
# (U+FE10-FE19, U+FE30-FE4F) forms, and the ideographic space. A phone keyboard in fullwidth mode (Chinese and
# Japanese input) types them; NFKC reads each as its ASCII character.
_COMPATIBILITY_FORMS = tuple(chr(code) for code in (*range(0xFE10, 0xFE1A), *range(0xFE30, 0xFE70),
                                                      *range(0xFF01, 0xFF5F), 0x3000))


def with_compatibility_forms(chars: str) -> str:
    """`chars` and every compatibility form NFKC reads as one of them ("#" -> "#＃﹟", "-" -> "-－﹣"), for the
    grammar's sets of punctuation: a command or a Tracking ID typed on a fullwidth keyboard is read as typed in ASCII,
    while the citizen's text keeps what they typed."""
    wide = [form for form in _COMPATIBILITY_FORMS
            if len(folded := unicodedata.normalize("NFKC", form)) == 1 and folded in chars]
    return chars + "".join(wide)


# "#" in every form a keyboard types it ("#", fullwidth "＃", small "﹟"): the hashtags and `#<id>` of the SMS grammar,
# the hashtags of a mail's body, what is stripped around a typed Tracking ID.
HASH = with_compatibility_forms("#")

# "-" in every form a phone types it between the digit groups of a Tracking ID ("1000–0004"): ASCII and its
# compatibility forms ("－", "﹣"), and what autocorrect and other keyboards put in its place: hyphen U+2010,
# non-breaking hyphen U+2011, figure dash U+2012, en dash U+2013, minus sign U+2212. Read only as "-"
# (`gateway/tracking.py`, the grammar's ID, date and closing marks), a grouped ID was a new report, not a query.
DASHES = with_compatibility_forms("-") + "\u2010\u2011\u2012\u2013\u2212"


def fold_word(word: str) -> str:
    """A word as the keyword tables hold it: lowercased, and read through NFKC when it is not ASCII ("ｃｅｋ" is "cek",
    "ＬＡＰＯＲ" "lapor", "１７０８" "1708"), a dotted capital I and a dotless i as an i ("ANONİM", "anonım" are
    "anonim", `_DOTTED_I`, `_DOTLESS_I`). For looking words up only: the citizen's text is never folded."""
    if word.isascii():
        return word.lower()
    return unicodedata.normalize("NFKC", word).lower().replace(_DOTTED_I, "i").replace(_DOTLESS_I, "i")


# The Turkish dotted capital "İ" lowercased: "i" and a combining dot above. Some phones' keyboards and autocorrect
# write it for "I" ("ANONİM", "RAHASİA"): looked up as typed, no table held the word and a whistleblower's flag was
# the citizen's word. Read as "i" in a word looked up (`fold_word`); checked for only in a word that is not ASCII.
_DOTTED_I = "i\u0307"
# The Turkish dotless "ı", which a Turkish keyboard types for "i" ("anonım", "rahasıa"): it lowercases to itself and
# no table held the word, so the flag was the citizen's word. Read as "i" as the dotted capital is.
_DOTLESS_I = "\u0131"


# How far `cut_text` steps back to keep a character whole: further than any character a reader sees as one (a letter
# with a few marks, an emoji with its tone and presentation selector). A longer run of marks ("Zalgo" text) is cut
# at the code point instead, so the cut never loses more than this.
_MAX_STEP_BACK = 32
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)


def _continues(char: str) -> bool:
    """Whether `char` belongs to the character before it: a combining mark NFC could not compose (Mn, Mc, Me: an
    accent on a letter without a precomposed form, a Javanese or Balinese vowel sign, a keycap's enclosing mark, a
    variation selector) or an emoji's skin tone. Cut before one, a letter loses its mark or an emoji its tone."""
    return unicodedata.category(char) in ("Mn", "Mc", "Me") or ord(char) in _EMOJI_MODIFIERS


def cut_text(text: str, limit: int) -> str:
    """The start of `text`, at most `limit` code points long, not ending inside a character as a reader sees it.

    A Python string is code points, so no cut splits an emoji's UTF-16 surrogate pair. The cut also steps back (at
    most `_MAX_STEP_BACK`) before marks and skin tones that belong to the last character kept (`_continues`), and
    before the first half of a flag (a pair of regional indicators). Zero-width joiners never reach here
    (`clean_text` removes them). Not a full grapheme segmentation (UAX #29), which no dependency here provides."""
    if len(text) <= limit:
        return text
    end, floor = limit, max(0, limit - _MAX_STEP_BACK)
    while end > floor and _continues(text[end]):
        end -= 1
    if end == floor and _continues(text[end]):
        end = limit
    if ord(text[end]) in _REGIONAL_INDICATORS:
        start = end
        while start > floor and ord(text[start - 1]) in _REGIONAL_INDICATORS:
            start -= 1
        if (end - start) % 2:  # an odd run before the cut: its last indicator is half of a flag
            end -= 1
    return text[:end]


def phrase_pattern(phrase: str) -> str:
    """A configured phrase as a pattern (config/identity.toml's closings, contact and someone-else words): its words
    with any run of spaces between them; a last word ending in "*" with letters after it too ("wassalam*":
    "Wassalamualaikum")."""
    words = phrase.split()
    return r"\s+".join(re.escape(word.rstrip("*")) for word in words) + (r"\w*" if words[-1].endswith("*") else "")
