"""Process-level tuning shared by the long-running processes (gateway, workers)."""

from __future__ import annotations

import gc

# Young-generation collections every 50,000 net allocations instead of 700: a webhook allocates a few hundred
# objects, and at the default most collections found nothing to free.
GC_YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """Call once start-up is done. Moves everything allocated so far (modules, settings, the triage model,
    phone-number metadata) out of the collector's sight with `gc.freeze`, so full collections no longer walk it.

    Measured with the benchmark's intake load: p99 webhook latency 50-54 ms before, 23-28 ms after, and 5 to 10 %
    less CPU a webhook. Objects created later are collected as usual; nothing frozen is ever freed, which is what
    start-up state is for."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
