"""The keyword grammar and the normalizer read every text of the recorded corpus as they did when it was recorded
(`tests/grammar_oracle.py`): what holds the grammar's speed-ups to its behaviour, text by text."""

from __future__ import annotations

from tests.grammar_oracle import bench_texts, load, reading


def test_every_text_of_the_corpus_is_read_as_recorded() -> None:
    rows = load()
    assert len(rows) > 15_000
    assert {text for text, _, _ in rows} >= set(bench_texts())
    differing = [(text, shortest_id, expected, got) for text, shortest_id, expected in rows
                 if (got := reading(text, shortest_id)) != expected]
    assert not differing, f"{len(differing)} texts read otherwise, the first: {differing[:3]}"
