"""Measured, not asserted: the figures `lapor-gateway triage evaluate` prints.

- Topic and kind: a stratified held-out quarter of the labelled data (the model is trained on the rest), with and
  without the category marker words of config/triage/categories.toml.
- Language: every labelled row that names its language (the detector is a word list, not trained on the rows).
- Region: the table of place cases in triage/data/region_cases.csv (expected codes; "a+b" accepts either reading
  of a name two places share; an empty code means the text names no place). Rows whose case starts with "fresh"
  were written after the matcher was last changed, and are also reported on their own.
- Duplicates: every labelled text is indexed, then a perturbed copy of each held-out text (typos, case,
  punctuation, an added phrase) is looked up: recall is the share of copies that find their original, precision
  the share of reported matches that are the original.
- Time: the whole triage of one report (with the Redis index) on the held-out texts, one thread.
"""

from __future__ import annotations

import csv
import math
import os
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from gateway.settings import Settings
from triage.duplicates import DuplicateIndex
from triage.engine import TriageEngine, duplicate_policy
from triage.model import SEED_PATH, Example, TextModel, load_categories, read_examples

REGION_CASES_PATH = Path(__file__).resolve().parent / "data" / "region_cases.csv"
HOLD_OUT = 0.25
SPLIT_SEED = 7


@dataclass
class Evaluation:
    figures: dict[str, float | int | str] = field(default_factory=dict)
    region_failures: list[str] = field(default_factory=list)

    def add(self, name: str, value: float | int | str) -> None:
        self.figures[name] = round(value, 3) if isinstance(value, float) else value


def held_out_shortfall(examples: list[Example]) -> str:
    """Why `split` cannot hold a quarter of these examples out (scikit-learn's ValueError), in an operator's words:
    a category with a single example, or a quarter too small to hold one of each category. The second was said as
    the first ("every category needs two examples or more") of data whose every category had two."""
    counts = Counter(example.category for example in examples)
    single = sorted(category for category, count in counts.items() if count < 2)
    if single:
        named = ", ".join(single[:3]) + (", ..." if len(single) > 3 else "")
        return (f"every category needs two examples or more, one of them held out: {len(single)} "
                f"{'has' if len(single) == 1 else 'have'} one ({named})")
    held_out = math.ceil(HOLD_OUT * len(examples))
    return (f"the held-out quarter ({held_out} of {len(examples)} examples) needs one example of each of the "
            f"{len(counts)} categories: {4 * len(counts) - 3} examples or more")


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    train, test = train_test_split(examples, test_size=HOLD_OUT, random_state=SPLIT_SEED,
                                   stratify=[e.category for e in examples])
    return list(train), list(test)


def evaluate(settings: Settings, redis: Redis, training_path: Path = SEED_PATH,
             region_cases: Path = REGION_CASES_PATH) -> Evaluation:
    categories = load_categories()
    examples = read_examples(training_path, categories)
    train, test = split(examples)
    result = Evaluation()
    result.add("labelled examples", len(examples))
    result.add("held-out examples", len(test))
    result.add("categories in data", len({e.category for e in examples}))
    engine = TriageEngine.build(settings, redis, training_path=training_path, examples=train, keep=False)
    _topic_and_kind(result, engine, train, test, categories.min_probability)
    _language(result, engine, examples)
    _regions(result, engine, region_cases)
    _regions_in_reports(result, engine, examples)
    _duplicates(result, settings, redis, examples, test)
    _timing(result, engine, test)
    return result


def _topic_and_kind(result: Evaluation, engine: TriageEngine, train: list[Example], test: list[Example],
                    min_probability: float) -> None:
    truth = [e.category for e in test]
    predictions = [engine.model.predict(e.text) for e in test]
    best = [topic.labels[0] for topic, _ in predictions]
    result.add("topic accuracy", accuracy_score(truth, best))
    result.add("topic macro-F1", f1_score(truth, best, average="macro", zero_division=0))
    result.add("topic top-3 accuracy", sum(t in p[0].labels[:3] for t, p in zip(truth, predictions, strict=True))
               / len(test))
    sure = [(t, p[0].labels[0]) for t, p in zip(truth, predictions, strict=True)
            if p[0].probabilities[0] >= min_probability]
    result.add("topic fallback rate (TOPIK LAINNYA)", 1 - len(sure) / len(test))
    result.add("topic accuracy when not falling back", sum(t == p for t, p in sure) / len(sure) if sure else 0.0)
    plain = TextModel.train(train)
    plain_best = [plain.predict(e.text)[0].labels[0] for e in test]
    result.add("topic accuracy, examples only (no marker words)", accuracy_score(truth, plain_best))
    result.add("topic macro-F1, examples only (no marker words)",
               f1_score(truth, plain_best, average="macro", zero_division=0))
    with_kind = [(e, p[1]) for e, p in zip(test, predictions, strict=True) if e.kind is not None and p[1]]
    if with_kind:
        kind_truth = [e.kind.value for e, _ in with_kind if e.kind is not None]
        kind_best = [p.labels[0] for _, p in with_kind if p is not None]
        result.add("kind accuracy", accuracy_score(kind_truth, kind_best))
        result.add("kind macro-F1", f1_score(kind_truth, kind_best, average="macro", zero_division=0))
        result.add("kind accuracy of always 'complaint'", kind_truth.count("complaint") / len(kind_truth))


def _language(result: Evaluation, engine: TriageEngine, examples: list[Example]) -> None:
    labelled = [e for e in examples if e.language]
    if labelled:
        result.add("language accuracy", sum(engine.language.detect(e.text).code == e.language for e in labelled)
                   / len(labelled))
        result.add("language rows (id/en/jv/su)", "/".join(
            str(sum(e.language == code for e in labelled)) for code in ("id", "en", "jv", "su")))


def _regions(result: Evaluation, engine: TriageEngine, path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        cases = list(csv.DictReader(handle))
    named = correct = province_correct = false_places = ambiguous = fresh_named = fresh_correct = 0
    for case in cases:
        expected = [code for code in case["expected_code"].split("+") if code]
        suggestion = engine.regions.match(case["text"])
        got = suggestion.code if suggestion else ""
        if not expected:
            false_places += bool(got)
            if got:
                result.region_failures.append(f"{case['text']!r}: expected no place, got {got}")
            continue
        named += 1
        correct += got in expected
        if case["case"].startswith("fresh"):
            fresh_named += 1
            fresh_correct += got in expected
        province_correct += got[:2] in {code[:2] for code in expected}
        ambiguous += bool(suggestion and suggestion.ambiguous)
        if got not in expected:
            result.region_failures.append(f"{case['text']!r}: expected {'/'.join(expected)}, got {got or 'none'}")
    result.add("region cases naming a place", named)
    result.add("region top-1 accuracy", correct / named if named else 0.0)
    result.add("region province accuracy", province_correct / named if named else 0.0)
    if fresh_named:
        result.add("region top-1 on 'fresh' cases (written after the matcher was frozen)",
                   fresh_correct / fresh_named)
    result.add("region suggestions marked ambiguous", ambiguous)
    result.add("region cases without a place", len(cases) - named)
    result.add("region false places on texts without one", false_places)


def _regions_in_reports(result: Evaluation, engine: TriageEngine, examples: list[Example]) -> None:
    """The seed reports name almost no place: every region found there is listed, for a person to judge."""
    found = [(e.text, engine.regions.match(e.text)) for e in examples]
    found = [(text, region) for text, region in found if region is not None]
    result.add("region suggestions on the labelled reports (listed below)", len(found))
    result.region_failures += [f"in a labelled report: {region.name} [{region.code}] <- {text[:70]!r}"
                               for text, region in found]


def perturb(text: str, rng: random.Random) -> str:
    """A resend of the same report: two typos, other case and punctuation, a phrase added."""
    words = text.split()
    for _ in range(2):
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) > 3:
            j = rng.randrange(1, len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    variant = " ".join(words).rstrip(".")
    variant = variant.upper() if rng.random() < 0.3 else variant.lower()
    return rng.choice(["LAPOR: ", "", "Mohon bantu, "]) + variant + rng.choice(["!!", ". Mohon ditindaklanjuti", ""])


def _duplicates(result: Evaluation, settings: Settings, redis: Redis, examples: list[Example],
                test: list[Example]) -> None:
    index = DuplicateIndex(redis, duplicate_policy(settings), "evaluation")
    ids = {e.text: str(100_000_000 + i) for i, e in enumerate(examples)}
    for i, example in enumerate(examples):
        index.check_and_add(ids[example.text], example.text, "sms", f"sender-{i}")
    rng = random.Random(SPLIT_SEED)
    found = reported = right = 0
    for i, example in enumerate(test):
        suggestion = index.check_and_add(str(200_000_000 + i), perturb(example.text, rng), "email", f"other-{i}")
        matched = {m.tracking_id for m in suggestion.matches}
        reported += len(matched)
        right += ids[example.text] in matched
        found += ids[example.text] in matched
    result.add("duplicate recall", found / len(test))
    result.add("duplicate precision", right / reported if reported else 1.0)


def _timing(result: Evaluation, engine: TriageEngine, test: list[Example]) -> None:
    """Wall time (what a report waits) and this thread's CPU time (what it costs one core, whatever else runs)."""
    wall, cpu = [], []
    for i, example in enumerate(test):
        envelope = {"tracking_id": str(300_000_000 + i), "channel": "sms", "text": example.text,
                    "sender": {"kind": "msisdn", "id": f"+62812{i:07d}"}, "kind": "complaint"}
        started, started_cpu = time.perf_counter(), time.thread_time()
        engine.triage(envelope)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    wall.sort()
    cpu.sort()
    result.add("triage wall ms per report (median)", statistics.median(wall))
    result.add("triage wall ms per report (p95)", wall[int(len(wall) * 0.95) - 1])
    result.add("triage CPU ms per report (median)", statistics.median(cpu))
    result.add("triage CPU ms per report (p95)", cpu[int(len(cpu) * 0.95) - 1])
    result.add("load average while timing (1 min)", os.getloadavg()[0])
    result.add("cpu cores", os.cpu_count() or 0)
