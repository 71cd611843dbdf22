"""Language: Indonesian, English, Javanese or Sundanese, from distinctive common words (config/triage/languages.toml).

A word-list vote is tiny, offline and fast (microseconds), and on these four languages the distinctive function
words ("ora", "teu", "the", "yang") carry most of the signal; `lapor-gateway triage evaluate` measures it on the
seed set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.settings import CONFIG_DIR
from gateway.tables import read_table
from normalizer.envelope import LanguageSuggestion
from triage.text import words

LANGUAGES_PATH = CONFIG_DIR / "triage" / "languages.toml"


@dataclass(frozen=True, slots=True)
class LanguageDetector:
    words_of: dict[str, frozenset[str]]
    default: str

    @classmethod
    def load(cls, path: Path = LANGUAGES_PATH) -> LanguageDetector:
        return read_table(path, lambda raw: cls(
            {code: frozenset(w.casefold() for w in listed) for code, listed in raw["words"].items()}, raw["default"]))

    def detect(self, text: str) -> LanguageSuggestion:
        tokens = words(text)
        scores = {code: sum(token in listed for token in tokens) for code, listed in self.words_of.items()}
        best = max(scores, key=lambda code: (scores[code], code == self.default))
        total = sum(scores.values())
        if scores[best] == 0:
            return LanguageSuggestion(code=self.default, confidence=0.3)  # type: ignore[arg-type]
        runner_up = max((v for k, v in scores.items() if k != best), default=0)
        confidence = scores[best] / total if total else 0.0
        if scores[best] == runner_up:
            confidence = min(confidence, 0.5)
        return LanguageSuggestion(code=best, confidence=round(confidence, 3))  # type: ignore[arg-type]
