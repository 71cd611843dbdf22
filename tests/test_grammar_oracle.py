"""The keyword grammar and the normalizer read every text of the recorded corpus as they did when it was recorded
(`tests/grammar_oracle.py`): what holds the grammar's speed-ups to its behaviour, text by text."""

from __future__ import annotations

import functools

import pytest

from tests.grammar_oracle import bench_texts, load, reading

# The corpus read in this many parts, each a test of its own: whole, it was one test of two minutes on a slow
# machine's loaded core, past the suite's timeout, and the one the others waited for.
PARTS = 8


@functools.cache
def recorded() -> list[tuple[str, int, dict]]:
    return load()


def test_the_corpus_holds_the_bench_texts_and_more() -> None:
    rows = recorded()
    assert len(rows) > 15_000
    assert {text for text, _, _ in rows} >= set(bench_texts())


@pytest.mark.parametrize("part", range(PARTS))
def test_every_text_of_the_corpus_is_read_as_recorded(part: int) -> None:
    rows = recorded()[part::PARTS]
    differing = [(text, shortest_id, expected, got) for text, shortest_id, expected in rows
                 if (got := reading(text, shortest_id)) != expected]
    assert not differing, f"{len(differing)} texts read otherwise, the first: {differing[:3]}"
