"""Topic and kind: TF-IDF features and two linear classifiers (logistic loss), trained from labelled CSV data.

The model is trained from the training data instead of being shipped as a pickle: the training data is the artefact,
readable and reviewable in the repository, and nothing executable is ever loaded from disk. A worker keeps what it
trained (the vocabularies, idf weights and coefficients: numbers and words in a numpy `.npz` file, read with pickles
refused) under a name that is a digest of everything the training read, so the next start reads it in a few
milliseconds instead of importing scikit-learn and training (three seconds of CPU): other examples, another version
of this code or of the libraries that trained it name another file. The model version is a digest of the training
data and the category list, so a forwarded report says exactly which data its suggestions came from.

Features: stemmed content words (Sastrawi stemmer, Sastrawi stop words removed) as unigrams and bigrams, plus
character n-grams within words, which carry typos, SMS spellings and Javanese/Sundanese affixes. The classifier
is scikit-learn's SGDClassifier with logistic loss (a logistic regression fitted by SGD): as accurate as the lbfgs
LogisticRegression on the seed set in cross-validation and more than ten times faster to train, so training at
start-up stays cheap.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import os
import re
import stat
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # scikit-learn is loaded by the functions that build a model: 1.6 s of CPU for a process that only
    # imports this module (a gateway, the CLI, every test process collecting the triage tests)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

from gateway.logs import get_logger
from gateway.private_files import remove_orphans, write_atomically
from gateway.settings import CONFIG_DIR
from gateway.tables import read_table
from normalizer.envelope import ReportKind
from triage import text as text_module
from triage.text import fold, indonesian_stop_words, make_stemmer, words

log = get_logger()

SEED_PATH = Path(__file__).resolve().parent / "data" / "seed_reports.csv"
CATEGORIES_PATH = CONFIG_DIR / "triage" / "categories.toml"

# Column names accepted in an operator's export (first match wins).
TEXT_COLUMNS = ("text", "isi", "isi_laporan", "laporan", "uraian")
CATEGORY_COLUMNS = ("category", "kategori", "topik", "topic")
KIND_COLUMNS = ("kind", "jenis", "jenis_laporan")
LANGUAGE_COLUMNS = ("language", "bahasa")
KIND_ALIASES = {"pengaduan": "complaint", "aspirasi": "aspiration", "permintaan informasi": "information_request",
                "informasi": "information_request", "wbs": "whistleblowing"}


class TrainingDataError(ValueError):
    """The training CSV cannot be used: the message says which row and why."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    category: str
    kind: ReportKind | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Categories:
    names: tuple[str, ...]
    fallback: str
    min_probability: float
    keywords: dict[str, tuple[str, ...]]

    def keyword_examples(self) -> list[Example]:
        """Each marker word of `categories.toml` as a one-word example of its category."""
        return [Example(word, category) for category, marker_words in self.keywords.items() for word in marker_words]


def load_categories(path: Path = CATEGORIES_PATH) -> Categories:
    return read_table(path, _categories)


def _categories(raw: dict[str, Any]) -> Categories:
    keywords = {category: tuple(marker_words) for category, marker_words in raw.get("keywords", {}).items()}
    unknown = set(keywords) - set(raw["categories"])
    if unknown:
        raise ValueError(f"keywords for unknown categories {sorted(unknown)}")
    return Categories(tuple(raw["categories"]), raw["fallback"], float(raw["min_probability"]), keywords)


def _column(header: Sequence[str], names: Iterable[str]) -> int | None:
    lowered = [fold(name).strip().replace(" ", "_") for name in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _kind(value: str, row: int) -> ReportKind | None:
    value = fold(value).strip()
    if not value:
        return None
    try:
        return ReportKind(KIND_ALIASES.get(value, value))
    except ValueError:
        raise TrainingDataError(f"row {row}: unknown kind {value!r}") from None


def read_examples(path: Path, categories: Categories, *, least_categories: int = 2) -> list[Example]:
    """Read labelled reports from a CSV (the seed set, or an operator's export with a text and a category column).

    Whatever makes the file unusable is a TrainingDataError naming where: `triage train` says it and exits 2, a
    worker logs it (an export saved as Windows-1252 or a row cut short ended the command on a traceback). A model
    needs two categories; an export added to the seed set (`triage train` without --replace) may hold one alone
    (`least_categories` 1: the examples of the one category it mends), and was refused for it."""
    try:
        return _read_examples(path, categories, least_categories)
    except UnicodeDecodeError as error:
        raise TrainingDataError(f"{path}: not UTF-8 text (byte {error.start}); save the export as CSV UTF-8") from None
    except csv.Error as error:
        raise TrainingDataError(f"{path}: not a readable CSV ({error})") from None
    except OSError as error:  # a missing file (a typo in triage.training_data), a directory, no permission
        raise TrainingDataError(f"{path}: cannot be read ({error.strerror or type(error).__name__})") from None


def _read_examples(path: Path, categories: Categories, least_categories: int) -> list[Example]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise TrainingDataError(f"{path}: empty file")
        text_at, category_at = _column(header, TEXT_COLUMNS), _column(header, CATEGORY_COLUMNS)
        if text_at is None or category_at is None:
            raise TrainingDataError(f"{path}: needs a text column {TEXT_COLUMNS} and a category column "
                                    f"{CATEGORY_COLUMNS}; found {header}")
        kind_at, language_at = _column(header, KIND_COLUMNS), _column(header, LANGUAGE_COLUMNS)
        known = {name.upper(): name for name in categories.names}
        examples = []
        for row_number, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if max(text_at, category_at) >= len(row):
                raise TrainingDataError(f"row {row_number}: {len(row)} column(s), no text or no category")
            text, category = row[text_at].strip(), row[category_at].strip().upper()
            if not text:
                continue
            if category not in known:
                raise TrainingDataError(f"row {row_number}: category {category!r} is not in {CATEGORIES_PATH.name}")
            kind = _kind(row[kind_at], row_number) if kind_at is not None and kind_at < len(row) else None
            language = row[language_at].strip() or None if language_at is not None and language_at < len(row) else None
            examples.append(Example(text, known[category], kind, language))
    if len({e.category for e in examples}) < least_categories:
        raise TrainingDataError(f"{path}: " + ("needs examples of at least two categories" if least_categories > 1
                                               else "holds no example"))
    return examples


@dataclass(frozen=True, slots=True)
class Prediction:
    labels: tuple[str, ...]
    probabilities: tuple[float, ...]  # same order as labels, most probable first
    evidence: bool = True  # False: no word of the text is known to the model, the probabilities are its priors


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """One fitted TF-IDF vectorizer as prediction reads it: each known term's column and its idf weight."""

    columns: dict[str, int]
    idf: np.ndarray


@dataclass(frozen=True, slots=True)
class Linear:
    """One fitted one-vs-rest logistic classifier as prediction reads it (SGDClassifier's `classes_`, `coef_`,
    `intercept_`): two classes have one row of coefficients, more have one row each."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray


class TextModel:
    """The fitted vocabularies and the topic and kind classifiers: plain arrays, so a kept model is read back without
    scikit-learn."""

    def __init__(self, vocabularies: tuple[Vocabulary, ...], topic: Linear, kind: Linear | None) -> None:
        self.vocabularies = vocabularies
        self.topic = topic
        self.kind = kind
        self._analyzers = analyzers()

    @classmethod
    def train(cls, examples: Sequence[Example]) -> TextModel:
        import scipy.sparse as sparse

        vectorizers = build_vectorizers()
        texts = [e.text for e in examples]
        matrix = sparse.hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
        topic = _classifier().fit(matrix, [e.category for e in examples])
        kinds = [(i, e.kind.value) for i, e in enumerate(examples) if e.kind is not None]
        kind = None
        if len({k for _, k in kinds}) >= 2:
            kind = _classifier(balanced=True).fit(matrix[[i for i, _ in kinds]], [k for _, k in kinds])
        return cls.fitted(vectorizers, topic, kind)

    @classmethod
    def fitted(cls, vectorizers: Sequence[TfidfVectorizer], topic: SGDClassifier,
               kind: SGDClassifier | None) -> TextModel:
        """What prediction reads of scikit-learn's fitted objects."""
        def linear(classifier: SGDClassifier) -> Linear:
            return Linear(tuple(str(label) for label in classifier.classes_), classifier.coef_, classifier.intercept_)

        return cls(tuple(Vocabulary(dict(v.vocabulary_), v.idf_) for v in vectorizers), linear(topic),
                   linear(kind) if kind is not None else None)

    def fast_features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The model's feature row for a text, as (column indices, values): the row scikit-learn's `transform` of each
        vectorizer gives, side by side, without its per-call overhead.

        For one short text, TfidfVectorizer.transform spends most of its time building and validating sparse
        matrices; this computes the same sublinear TF-IDF with the fitted vocabulary and idf weights, each
        vectorizer's part L2-normalised as scikit-learn does.
        """
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        offset = 0
        for vocabulary, analyze in zip(self.vocabularies, self._analyzers, strict=True):
            known = vocabulary.columns
            counts: dict[int, int] = {}
            for term in analyze(text):
                index = known.get(term)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if counts:
                index_array = np.fromiter(counts, dtype=np.int64, count=len(counts))
                weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))))
                weights *= vocabulary.idf[index_array]
                weights /= np.linalg.norm(weights) or 1.0
                columns.append(index_array + offset)
                values.append(weights)
            offset += len(known)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)

    def predict(self, text: str) -> tuple[Prediction, Prediction | None]:
        """(topic, kind) predictions for one text, labels ordered by probability."""
        columns, values = self.fast_features(text)
        topic = _ranked(self.topic, columns, values)
        kind = _ranked(self.kind, columns, values) if self.kind is not None else None
        if not len(columns):
            topic, kind = replace(topic, evidence=False), (replace(kind, evidence=False) if kind else None)
        return topic, kind


def _classifier(balanced: bool = False) -> SGDClassifier:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=50, tol=None, random_state=0,
                         class_weight="balanced" if balanced else None)


def _ranked(classifier: Linear, columns: np.ndarray, values: np.ndarray) -> Prediction:
    """SGDClassifier.predict_proba for one row (one-vs-rest logistic, normalised), without its per-call checks."""
    scores = classifier.coef[:, columns] @ values + classifier.intercept
    if len(classifier.classes) == 2:
        positive = 1.0 / (1.0 + np.exp(-scores[0]))
        probabilities = np.array([1.0 - positive, positive])
    else:
        probabilities = 1.0 / (1.0 + np.exp(-scores))
        probabilities /= probabilities.sum() or 1.0
    order = np.argsort(-probabilities, kind="stable")
    return Prediction(tuple(classifier.classes[i] for i in order), tuple(float(probabilities[i]) for i in order))


def content_analyzer() -> Callable[[str], list[str]]:
    """Stemmed words without Indonesian stop words, as unigrams and bigrams."""
    stem = make_stemmer()
    stop_words = indonesian_stop_words()

    def analyze(text: str) -> list[str]:
        stems = [stem(word) for word in words(text) if word not in stop_words and not word.isdigit()]
        return stems + [f"{a} {b}" for a, b in itertools.pairwise(stems)]

    return analyze


# Models kept in a directory, the most recently written: a change of the training data or an upgrade names a new
# file (about 2 MB each on the seed set), and the older ones go.
KEPT_MODELS = 4
KEPT_MODEL_FILE = re.compile(r"text-model-[0-9a-f]{32}\.npz")

# Character n-grams of these lengths, within each word padded with a space on both sides.
CHAR_NGRAMS = (3, 5)


def char_ngrams(text: str) -> list[str]:
    """scikit-learn's `char_wb` analyzer over the folded text: each word padded with a space, its n-grams of each
    length (a word shorter than the shortest n-gram, padded, counted once as it is). Written out here so a kept model
    is used without importing scikit-learn; `tests/test_triage.py` holds it to scikit-learn's."""
    shortest, longest = CHAR_NGRAMS
    grams: list[str] = []
    for word in fold(text).split():
        padded = f" {word} "
        for n in range(shortest, longest + 1):
            grams.extend(padded[start:start + n] for start in range(max(len(padded) - n, 0) + 1))
            if len(padded) <= n:
                break
    return grams


def analyzers() -> tuple[Callable[[str], list[str]], ...]:
    """The terms each vectorizer reads of a text, in the order of `build_vectorizers`."""
    return content_analyzer(), char_ngrams


def build_vectorizers() -> tuple[TfidfVectorizer, ...]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    content, characters = analyzers()
    return (
        TfidfVectorizer(analyzer=content, sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer=characters, sublinear_tf=True, min_df=2, max_features=20_000),
    )


def model_key(examples: Sequence[Example]) -> str:
    """A digest of everything a trained model depends on: its examples, the code that turns texts into features and
    fits them (this module, triage/text.py), and the versions of the libraries that stem, vectorize and fit and of
    Python's Unicode tables."""
    digest = hashlib.sha256()
    for path in (Path(__file__), Path(text_module.__file__)):
        digest.update(path.read_bytes())
    for library in ("scikit-learn", "numpy", "scipy", "pysastrawi"):
        digest.update(f"{library} {metadata.version(library)}\n".encode())
    # Folding and splitting words read Python's Unicode tables: another Python may read a text otherwise.
    digest.update(f"python {sys.version_info[:3]} unicode {unicodedata.unidata_version}\n".encode())
    for example in examples:
        digest.update(json.dumps([example.text, example.category, example.kind and example.kind.value]).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def kept_or_trained(examples: Sequence[Example], directory: Path) -> TextModel:
    """The model these examples train: read from `directory` when a process trained it before, else trained and kept
    there. A kept file that cannot be read (cut short, written by hand, not a regular file of the gateway's user) is
    trained again and replaced; one that cannot be written is logged, and the next start trains again."""
    path = directory / f"text-model-{model_key(examples)}.npz"
    try:
        return read_model(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as error:
        detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        log.warning("triage.model_unreadable", file=path.name, error=type(error).__name__, detail=detail[:200])
    model = TextModel.train(examples)
    try:
        write_atomically(path, model_bytes(model), what="triage model")
        _forget_older(directory)
    except OSError as error:
        log.warning("triage.model_not_kept", error=type(error).__name__, detail=error.strerror or type(error).__name__)
    return model


def forget_kept_models(directory: Path) -> int:
    """Every kept model removed (new training data: the old data's words leave the disk with them); how many."""
    kept = _kept_models(directory)
    for entry in kept:
        entry.unlink(missing_ok=True)
    return len(kept)


def _forget_older(directory: Path) -> None:
    """All but the KEPT_MODELS most recently written models removed, and any write a killed process left behind.
    A worker still using a removed one keeps its copy in memory; its next start trains again."""
    remove_orphans(directory)
    kept = []
    for entry in _kept_models(directory):
        with contextlib.suppress(FileNotFoundError):  # another worker's start removed it a moment ago
            kept.append((entry.stat().st_mtime, entry))
    for _, entry in sorted(kept)[:-KEPT_MODELS]:
        entry.unlink(missing_ok=True)


def _kept_models(directory: Path) -> list[Path]:
    """The models kept in `directory` (none where there is no such directory)."""
    try:
        return [entry for entry in directory.iterdir() if KEPT_MODEL_FILE.fullmatch(entry.name)]
    except FileNotFoundError:
        return []


def _json_bytes(value: object) -> np.ndarray:
    """Words as a JSON document in a byte array: numpy's fixed-width strings drop a word's trailing NUL characters."""
    return np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)


def _from_json(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode())


def model_bytes(model: TextModel) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    for index, vocabulary in enumerate(model.vocabularies):
        arrays[f"terms_{index}"] = _json_bytes(sorted(vocabulary.columns, key=vocabulary.columns.__getitem__))
        arrays[f"idf_{index}"] = vocabulary.idf
    for name, linear in (("topic", model.topic), ("kind", model.kind)):
        if linear is not None:
            arrays[f"{name}_classes"] = _json_bytes(list(linear.classes))
            arrays[f"{name}_coef"], arrays[f"{name}_intercept"] = linear.coef, linear.intercept
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read_model(path: Path) -> TextModel:
    """A model `model_bytes` wrote; a ValueError when it is not one. Pickles are refused: nothing in the file is
    executed. Only a regular file of the gateway's own user is read: in a directory others may write to, a file
    put there would steer the suggestions, and a FIFO would hold the worker's start."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid():
            raise ValueError("not a regular file of the gateway's user")
        saved = np.load(handle, allow_pickle=False)
        if not isinstance(saved, np.lib.npyio.NpzFile):
            raise ValueError("not a model's .npz")
        with saved:
            vocabularies = []
            for index in range(len(analyzers())):
                terms, idf = _words(saved[f"terms_{index}"]), _numbers(saved[f"idf_{index}"], 1)
                if len(set(terms)) != len(terms) or idf.shape != (len(terms),):
                    raise ValueError(f"vocabulary {index}: {len(terms)} terms, idf {idf.shape}")
                vocabularies.append(Vocabulary({term: column for column, term in enumerate(terms)}, idf))
            width = sum(len(terms.columns) for terms in vocabularies)
            linears = {name: _linear(saved, name, width) for name in ("topic", "kind") if f"{name}_coef" in saved}
    return TextModel(tuple(vocabularies), linears["topic"], linears.get("kind"))


def _words(array: np.ndarray) -> list[str]:
    words = _from_json(array) if array.dtype == np.uint8 and array.ndim == 1 else None
    if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
        raise ValueError("not a list of words")
    return words


def _numbers(array: np.ndarray, dimensions: int) -> np.ndarray:
    if array.dtype != np.float64 or array.ndim != dimensions or not np.isfinite(array).all():
        raise ValueError(f"not {dimensions}-dimensional finite floats: {array.dtype}, {array.ndim} dimensions")
    return array


def _linear(saved: Any, name: str, width: int) -> Linear:
    classes = tuple(_words(saved[f"{name}_classes"]))
    coef, intercept = _numbers(saved[f"{name}_coef"], 2), _numbers(saved[f"{name}_intercept"], 1)
    rows = 1 if len(classes) == 2 else len(classes)
    if len(classes) < 2 or coef.shape != (rows, width) or intercept.shape != (rows,):
        raise ValueError(f"{name}: {len(classes)} classes, coefficients {coef.shape}, intercepts {intercept.shape}")
    return Linear(classes, coef, intercept)
