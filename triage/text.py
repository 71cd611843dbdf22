"""One text normalisation and one tokenizer for every triage step, so a word means the same thing everywhere."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STEM_CACHE_SIZE = 50_000


def fold(text: str) -> str:
    """Lower case without accents ("éta" -> "eta"), so spelling variants meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """Folded words (letters and digits), punctuation dropped."""
    return _WORD.findall(fold(text))


def make_stemmer() -> Callable[[str], str]:
    """Sastrawi's Indonesian stemmer behind a bounded cache (its own cache grows without limit in a long worker)."""
    from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
    from Sastrawi.Stemmer.Stemmer import Stemmer
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    stemmer = Stemmer(ArrayDictionary(StemmerFactory().get_words()))
    return lru_cache(maxsize=STEM_CACHE_SIZE)(stemmer.stem)


def indonesian_stop_words() -> frozenset[str]:
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    return frozenset(StopWordRemoverFactory().get_stop_words())


def indonesian_root_words() -> frozenset[str]:
    """Sastrawi's Indonesian root-word dictionary (about 30,000 words)."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return frozenset(StemmerFactory().get_words())
