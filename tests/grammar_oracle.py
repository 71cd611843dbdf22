"""A differential oracle for the keyword grammar and the normalizer: many texts and what reading each gave.

The corpus is the texts the grammar's own tests read (recorded once into the fixture), the bench's texts, and
combinations of the grammar's words (kinds, flags, greetings, pleas, courtesies, commands, Tracking IDs, emoji) drawn
from `config/keywords.toml` with a fixed seed. `tests/test_grammar_oracle.py` reads each text again and compares: a
change made for speed that changes any reading fails there. A change of behaviour made on purpose records the fixture
again (`python -m tests.grammar_oracle --record`) and shows its differences in the diff of the fixture.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.errors import RejectedInput
from gateway.tracking import format_tracking_id
from normalizer.envelope import Attachment, Channel, SenderKind
from normalizer.grammar import load_grammar
from normalizer.inbound import InboundMessage
from normalizer.keywords import hashtag_flags, parse_text
from normalizer.pipeline import normalize
from normalizer.small_talk import awaits_an_answer, detect_language, is_courtesy, is_greeting, is_opt_in, is_opt_out

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "grammar_oracle.json.gz"
_RECEIVED = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
_EMOJI = ["🙏", "🙏🙏", "😡", "👍", "❤️", "🔥🔥", "😭", "♥", "✅"]
_BODIES = [
    "jalan berlubang di depan SDN 3, sudah tiga bulan tidak diperbaiki",
    "lampu jalan mati di gang 5 RT 04 RW 02",
    "pungutan liar di kantor kelurahan",
    "kepala desa minta setoran 2 juta",
    "the road near the market is flooded again",
    "bus sekolah tidak datang",
    "sampah menumpuk di pasar",
    "ada pungli di samsat",
    "please fix the broken street light",
    "jembatan rusak parah",
]
# The draft's fields every text of the corpus gives the same values (the message's, not the grammar's).
_SAME_FOR_ALL = {"received_at", "channel", "source", "channel_message_id", "sender", "attachments", "channel_meta"}
_SEPARATORS = [" ", ": ", ", ", ". ", "! ", " - ", "\n", " #", " *", " ("]


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def _table_words(raw: dict[str, Any], *names: str) -> list[str]:
    return sorted({word for name in names if name in raw for word in _strings(raw[name]) if word.strip()})


def _cased(rng: random.Random, words: str) -> str:
    return rng.choice([words, words.upper(), words.capitalize(), words.lower()])


def generated_texts(count: int = 6000, seed: int = 1708) -> list[str]:
    """Texts made of the grammar's own words in many orders: what the tests name one by one, combined."""
    with (ROOT / "config" / "keywords.toml").open("rb") as handle:
        raw = tomllib.load(handle)
    pools = {
        "kind": _table_words(raw, "kinds", "second_kinds"),
        "flag": _table_words(raw, "flags", "flag_negations", "flag_openers"),
        "phrase": _table_words(raw, "flags_in_words", "how_to_report", "status_questions"),
        "particle": _table_words(raw, "flag_particles"),
        "courtesy": _table_words(raw, "courtesy", "opt_out", "opt_in", "greeting"),
        "command": _table_words(raw, "commands", "instructions"),
        "compound": _table_words(raw, "flag_compounds"),
    }
    rng = random.Random(seed)
    ids = [format_tracking_id(sequence) for sequence in (1000000, 1000003, 1234567, 9999999, 12345678)]
    ids += ["10000004", "1000 0004", "10000005", "123456", "1708", "0812345678", "10.000.004"]
    texts = []
    for _ in range(count):
        parts: list[str] = []
        for _ in range(rng.randint(1, 6)):
            pick = rng.random()
            if pick < 0.15:
                parts.append(_cased(rng, rng.choice(pools["kind"])))
            elif pick < 0.3:
                parts.append(_cased(rng, rng.choice(pools["flag"])))
            elif pick < 0.4:
                parts.append(rng.choice(pools["phrase"]))
            elif pick < 0.48:
                parts.append(rng.choice(pools["particle"]))
            elif pick < 0.58:
                parts.append(_cased(rng, rng.choice(pools["courtesy"])))
            elif pick < 0.66:
                parts.append(_cased(rng, rng.choice(pools["command"])))
            elif pick < 0.74:
                parts.append(rng.choice(ids))
            elif pick < 0.8:
                parts.append(rng.choice(_EMOJI))
            elif pick < 0.85:
                parts.append(rng.choice(pools["compound"]))
            else:
                parts.append(rng.choice(_BODIES))
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(_SEPARATORS) + part
        if rng.random() < 0.3:
            text = "#" + text
        if rng.random() < 0.2:
            text += rng.choice(["?", "!", ".", " 🙏", " ya pak", ")", "*"])
        texts.append(text)
    return texts


def bench_texts() -> list[str]:
    from bench.load import TEXTS

    return [text.format(i=index) for index in (7, 123, 40000) for text in TEXTS]


def reading(text: str, shortest_id: int) -> dict[str, Any]:
    """Everything the grammar and the normalizer read of one text, as JSON values."""
    grammar = load_grammar()
    parsed = parse_text(text, grammar, shortest_id=shortest_id)
    result: dict[str, Any] = {
        "parsed": [str(parsed.action), parsed.text, str(parsed.kind), parsed.explicit_kind, parsed.anonymous,
                   parsed.confidential, parsed.tracking_id, parsed.language],
        "language": detect_language(text, grammar),
        "tests": [is_courtesy(text, grammar), awaits_an_answer(text, grammar), is_greeting(text, grammar),
                  is_opt_out(text, grammar), is_opt_in(text, grammar)],
        "hashtags": sorted(hashtag_flags(text, grammar)),
    }
    for name, channel, attachments in (("sms", Channel.SMS, ()), ("photo", Channel.SMS, (
            Attachment(name="a.jpg", content_type="image/jpeg", location="https://example.test/a.jpg"),))):
        message = InboundMessage(channel=channel, source="sms-twilio", provider_message_id="SM" + "a" * 32,
                                 sender_kind=SenderKind.MSISDN, sender_address="+6281234567890", text=text,
                                 received_at=_RECEIVED, attachments=attachments)
        try:
            normalized = normalize(message, shortest_id=shortest_id, grammar=grammar, max_text_chars=1600)
        except RejectedInput as error:
            result[name] = ["rejected", error.reason]
            continue
        result[name] = [
            normalized.draft.model_dump(mode="json", exclude=_SAME_FOR_ALL) if normalized.draft is not None else None,
            None if (query := normalized.query) is None else [
                str(query.action), query.message is message, query.language, query.tracking_id],
            normalized.language, normalized.mistyped_id]
    return result


# The hostile tests' texts of hundreds of thousands of characters are left to those tests: kept here, they made most
# of the fixture's size.
_LONGEST = 4000


def corpus(harvested: list[tuple[str, int]]) -> list[tuple[str, int]]:
    seen = dict.fromkeys(pair for pair in harvested if len(pair[0]) <= _LONGEST)
    for text in bench_texts() + generated_texts():
        for shortest_id in (8, 6):
            seen.setdefault((text, shortest_id))
    return list(seen)


def load() -> list[tuple[str, int, dict[str, Any]]]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as handle:
        return [(text, shortest_id, expected) for text, shortest_id, expected in json.load(handle)]


def record(harvested: list[tuple[str, int]]) -> None:
    rows = [[text, shortest_id, reading(text, shortest_id)] for text, shortest_id in corpus(harvested)]
    with gzip.GzipFile(FIXTURE, "wb", mtime=0) as raw:
        raw.write(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode())


if __name__ == "__main__" and sys.argv[1:2] == ["--record"]:
    # The recorded texts are kept (the tests' own among them): only the readings are made again. A JSON list of
    # [text, shortest_id] pairs after --record adds texts.
    kept = [(text, shortest_id) for text, shortest_id, _ in load()] if FIXTURE.exists() else []
    added = [(text, shortest_id) for path in sys.argv[2:] for text, shortest_id in json.loads(Path(path).read_text())]
    record(kept + added)
