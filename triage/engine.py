"""The triage engine: everything a report gets, from one envelope, in a few milliseconds.

Built once per worker process (training the text model takes about two seconds; a model a worker kept is read back in
milliseconds, triage/model.py) and then used for every report the forward worker sends. Suggestions never change the
envelope's own fields: an explicit keyword kind is reported as the kind suggestion with source "keyword"."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from gateway.settings import Settings
from normalizer.envelope import (
    DuplicateSuggestion,
    KindSuggestion,
    ReportKind,
    TopicScore,
    TopicSuggestion,
    Triage,
)
from triage.duplicates import DuplicateIndex, DuplicatePolicy
from triage.language import LANGUAGES_PATH, LanguageDetector
from triage.model import (
    CATEGORIES_PATH,
    SEED_PATH,
    Categories,
    Example,
    TextModel,
    kept_or_trained,
    load_categories,
    read_examples,
)
from triage.region import REGIONS_PATH, Gazetteer, RegionMatcher, load_region_config
from triage.spam import SPAM_PATH, SpamFilter
from triage.text import indonesian_root_words, indonesian_stop_words

OPERATOR_TRAINING_FILE = Path("triage") / "training.csv"
KEPT_MODELS_DIR = Path("triage") / "models"
# Suggestions read the start of a long mail only: the cost per report stays bounded (stemming unseen words is the
# slow step), and what a report is about is said early.
MAX_TRIAGE_CHARS = 4000


def training_data_path(settings: Settings) -> Path:
    """The configured CSV, else what `lapor-gateway triage train` installed under the data dir, else the seed set."""
    if settings.triage.training_data:
        return Path(settings.triage.training_data)
    installed = settings.data_dir / OPERATOR_TRAINING_FILE
    return installed if installed.exists() else SEED_PATH


def kept_models_dir(settings: Settings) -> Path:
    """Where forward workers keep the models they trained: `triage.model_dir`, else under the data dir."""
    return Path(settings.triage.model_dir) if settings.triage.model_dir else settings.data_dir / KEPT_MODELS_DIR


def duplicate_policy(settings: Settings) -> DuplicatePolicy:
    section = settings.triage
    return DuplicatePolicy(section.duplicate_window_seconds, section.duplicate_threshold,
                           section.campaign_threshold, section.campaign_min_senders)


def model_version(training_path: Path) -> str:
    from lokal import __version__ as gazetteer_version  # type: ignore[attr-defined]

    digest = hashlib.sha256()
    for path in (training_path, CATEGORIES_PATH, REGIONS_PATH, LANGUAGES_PATH, SPAM_PATH):
        digest.update(path.read_bytes())
    return f"triage-1+{digest.hexdigest()[:12]}+lokal-{gazetteer_version}"


@dataclass
class TriageEngine:
    version: str
    categories: Categories
    model: TextModel
    regions: RegionMatcher
    language: LanguageDetector
    spam: SpamFilter
    duplicates: DuplicateIndex | None

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None, training_path: Path | None = None,
              examples: list[Example] | None = None, keep: bool = True) -> TriageEngine:
        """Everything read from files first, the model (trained in seconds, or read where a worker kept it) last: a
        worker whose build fails tries again with its next job, and a configuration file it cannot read (a TOML typo
        in spam.toml) cost every forward job a training before that failure, slowing the whole forward queue to a
        batch every few seconds. `keep` False trains a model of its own, kept nowhere (an evaluation's, on part of
        the data: kept, it would push the workers' models out of the directory)."""
        path = training_path or training_data_path(settings)
        categories = load_categories()
        if examples is None:
            examples = read_examples(path, categories)
        version = model_version(path)
        regions = RegionMatcher(Gazetteer.load(), load_region_config(REGIONS_PATH), indonesian_stop_words(),
                                indonesian_root_words())
        language, spam = LanguageDetector.load(), SpamFilter.load()
        index = None
        if redis is not None:
            index = DuplicateIndex(redis, duplicate_policy(settings), settings.privacy.reply_handle_secret)
        examples = examples + categories.keyword_examples()
        model = kept_or_trained(examples, kept_models_dir(settings)) if keep else TextModel.train(examples)
        return cls(version=version, categories=categories, model=model, regions=regions, language=language,
                   spam=spam, duplicates=index)

    def triage(self, envelope: dict[str, Any]) -> Triage:
        """Suggestions for one stored envelope (a dict as kept in Redis)."""
        text = " ".join(part for part in (envelope.get("subject"), envelope.get("text")) if part)[:MAX_TRIAGE_CHARS]
        topic, kind = self.topic_and_kind(text, envelope)
        return Triage(
            model_version=self.version,
            region=self.regions.match(text),
            topic=topic,
            kind=kind,
            language=self.language.detect(text),
            duplicates=self._duplicates(envelope, text),
            spam=self.spam.check(text),
        )

    def topic_and_kind(self, text: str, envelope: dict[str, Any]) -> tuple[TopicSuggestion, KindSuggestion]:
        topic_prediction, kind_prediction = self.model.predict(text)
        top = [TopicScore(category=c, probability=round(p, 4))
               for c, p in zip(topic_prediction.labels[:3], topic_prediction.probabilities[:3], strict=True)]
        best = top[0]
        # A text without a word the model knows (only emoji, a photo's empty caption) gets its priors: the kind most
        # common in the training data came back as the model's suggestion at 0.61, for nothing read.
        unsure = best.probability < self.categories.min_probability or not topic_prediction.evidence
        topic = TopicSuggestion(category=self.categories.fallback if unsure else best.category,
                                confidence=best.probability, top=top)
        if envelope.get("explicit_kind") or kind_prediction is None or not kind_prediction.evidence:
            kind = KindSuggestion(kind=ReportKind(envelope.get("kind", ReportKind.COMPLAINT)),
                                  confidence=1.0 if envelope.get("explicit_kind") else 0.0,
                                  source="keyword" if envelope.get("explicit_kind") else "model")
        else:
            kind = KindSuggestion(kind=ReportKind(kind_prediction.labels[0]),
                                  confidence=round(kind_prediction.probabilities[0], 4), source="model")
        return topic, kind

    def _duplicates(self, envelope: dict[str, Any], text: str) -> DuplicateSuggestion:
        if self.duplicates is None or not text.strip():
            return DuplicateSuggestion()
        return self.duplicates.check_and_add(envelope["tracking_id"], text, envelope.get("channel"),
                                             campaign_sender(envelope), bool(envelope.get("anonymous")))


def campaign_sender(envelope: dict[str, Any]) -> str:
    """Who a report counts as in a campaign: its sender, or, for an anonymous report, a sender of its own (stable
    across retries). Counted as its sender, an anonymous report resent from a named one's number would make a
    `campaign_count` of 1 beside a match of that report, telling the case store who sent it."""
    if envelope.get("anonymous"):
        return f"anonymous:{envelope['tracking_id']}"
    sender = envelope.get("sender") or {}
    return f"{sender.get('kind')}:{sender.get('id')}"
