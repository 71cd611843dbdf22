"""The marks and tokens the keyword grammar reads a text by, shared by each of its modules.

A message's words and numbers folded once (`_folded_tokens`, kept for the next reader), a word's letters typed over
and over taken once (`_squeeze`), the marks that set a word off as a tag and those that close a question. Lowest of
the grammar's modules: it imports none of them.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from normalizer.text import fold_word, with_compatibility_forms

# A leading kind or flag word set off as a tag ("[ANONIM] ...", "(RAHASIA)", WhatsApp's bold "*ANONIM*" and italic
# "_ANONIM_", "【ANONIM】", help's placeholder marks "<ANONIM>"): a pair of marks around the word alone (`_TAG_PAIRS`),
# then separators. Missed, "<ANONIM>" lost its marks with the placeholder's and stayed as the citizen's word. So did
# Markdown's doubled bold ("**ANONIM**": a mark may be typed twice) and quotes around the word ('"ANONIM" ...').
# WhatsApp's strikethrough "~ANONIM~" too, typed as decoration.
_TAG_PAIRS = {"[": "]", "(": ")", "*": "*", "_": "_", "~": "~", "【": "】", "<": ">", '"': '"', "'": "'",
              "\u201c": "\u201d", "\u2018": "\u2019", "«": "»"}
_TAG_OPEN = "".join(map(re.escape, with_compatibility_forms("[(*_~<\"'") + "【\u201c\u2018«"))
_TAG_CLOSE_CHARS = with_compatibility_forms("])*_~>\"'") + "】\u201d\u2019»"
_TAG_CLOSE = "".join(map(re.escape, _TAG_CLOSE_CHARS))
# Opening marks as typed around a word (`_negation_start` reads back past them: "bukan ~rahasia~", "bukan (#rahasia)").
_TAG_OPEN_CHARS = with_compatibility_forms("[(*_~<\"'") + "【\u201c\u2018«"

_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words and numbers for the courtesy check ("lapor1708", "1708" are ours); what lies between them is ignored.
_TOKENS = re.compile(r"[^\W_]+", re.UNICODE)
# The longest text whose folded tokens `_folded_tokens` keeps: an SMS of ten parts and more. A longer one is folded
# lazily, word by word, as its readers stop at its first or second word most times.
_KEPT_TOKENS_CHARS = 2000


@lru_cache(maxsize=32)
def _kept_tokens(text: str) -> tuple[str, ...]:
    """`_TOKENS` of the text, folded (`fold_word`): an ASCII text lowercased once, its tokens the same."""
    return tuple(_TOKENS.findall(text.lower()) if text.isascii() else map(fold_word, _TOKENS.findall(text)))


def _folded_tokens(text: str) -> Iterable[str]:
    """The text's tokens folded, in order. Six readers of a message ask for them (the short-message tables, thanks for
    what was done, how to report, status questions, flags asked in words): folded once a text and kept for the next
    reader, where each folded them again, they cost a tenth of a report's parse. A long text's are folded lazily."""
    if len(text) <= _KEPT_TOKENS_CHARS:
        return _kept_tokens(text)
    return (fold_word(match.group()) for match in _TOKENS.finditer(text))


def _first_folded_tokens(text: str, count: int) -> tuple[str, ...] | list[str]:
    """The text's first `count` folded tokens at least (all of a text `_folded_tokens` keeps)."""
    if len(text) <= _KEPT_TOKENS_CHARS:
        return _kept_tokens(text)
    return list(itertools.islice(_folded_tokens(text), count))


# A letter typed over and over ("makasiiih", "okeee"); digits are left as they are.
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+", re.UNICODE)

_QUESTION = with_compatibility_forms("?")
_QUESTION_MARKS = tuple(_QUESTION)
_QUESTION_MARK = re.compile(f"[{re.escape(_QUESTION)}]")
# What may follow a question's closing "?" and still leave it closed: "sudah diproses belum laporan saya?!".
_AFTER_QUESTION = with_compatibility_forms("!") + " \t\r\n"
# What closes a question: "?" in its forms, and the interrobang some keyboards offer ("...diproses‽").
_CLOSING_QUESTION = (*_QUESTION_MARKS, "‽", "⁈")


@lru_cache(maxsize=4096)
def _squeeze(word: str) -> str:
    """The word with letters typed more than once taken once ("makasihhh" -> "makasih"). Cached: a word not in the
    tables as typed is squeezed by `_only_short_message_words` and again by each table then asked."""
    return _REPEATED_LETTER.sub(r"\1", word)


def _paired(opening: str, closing: str) -> bool:
    return _TAG_PAIRS.get(unicodedata.normalize("NFKC", opening)) == unicodedata.normalize("NFKC", closing)
