"""Obvious spam and fraud SMS (pulsa scams, prize scams, links): flagged with reasons, never dropped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gateway.settings import CONFIG_DIR
from gateway.tables import read_table
from normalizer.envelope import SpamSuggestion
from triage.text import fold

SPAM_PATH = CONFIG_DIR / "triage" / "spam.toml"


@dataclass(frozen=True, slots=True)
class SpamRule:
    reason: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class SpamFilter:
    rules: tuple[SpamRule, ...]

    @classmethod
    def load(cls, path: Path = SPAM_PATH) -> SpamFilter:
        return read_table(path, lambda raw: cls(tuple(
            SpamRule(r["reason"], float(r["weight"]), re.compile(r["pattern"], re.IGNORECASE | re.DOTALL))
            for r in raw["rules"])))

    def check(self, text: str) -> SpamSuggestion:
        folded = fold(text)
        matched = [rule for rule in self.rules if rule.pattern.search(folded)]
        return SpamSuggestion(suspected=sum(rule.weight for rule in matched) >= 1.0,
                              reasons=[rule.reason for rule in matched])
