"""Loaded by the interpreter of a process the bench's `steps` phase starts (its PYTHONPATH begins here)."""

import os

if os.environ.get("LAPOR_BENCH_STEPS"):
    from pathlib import Path

    from bench.steps import install

    install(Path(os.environ["LAPOR_BENCH_STEPS"]))
