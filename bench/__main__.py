"""`python -m bench [--quick]`: run every phase, check the results, print JSON and a table, write the plot."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.report import evaluate, plot, table
from bench.run import Bench, Config, config_dict, machine

RESULTS = Path(__file__).resolve().parent / "results"
ALL_PHASES = "bare,intake,e2e,naive,scale"


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a sanity run (one to two minutes on a 2-core machine)")
    parser.add_argument("--intake-reports", type=int, help="webhooks sent for the intake figure, per run")
    parser.add_argument("--intake-repeats", type=_at_least_one,
                        help="closed-loop intake runs; the median is the figure (of an even number, the lower)")
    parser.add_argument("--e2e-reports", type=int, help="reports sent for the e2e figure (full run: 20000)")
    parser.add_argument("--naive-reports", type=int, help="reports sent through the naive design")
    parser.add_argument("--bare-seconds", type=float, help="duration of the bare ceiling")
    parser.add_argument("--sweep-seconds", type=float, help="duration of each open-loop sweep point")
    parser.add_argument("--latency-seconds", type=float, help="duration of the half-rate latency points")
    parser.add_argument("--workers", type=int, help="forward workers of the gateway design")
    parser.add_argument("--naive-workers", type=int, help="RQ forking workers of the naive design")
    parser.add_argument("--warmup", type=int, help="webhooks sent before measuring")
    parser.add_argument("--connections", type=int, help="connections of the closed-loop load")
    parser.add_argument("--processes", type=int,
                        help="processes each for bare and intake in the scale phase (default: one per core)")
    parser.add_argument("--phases", default=ALL_PHASES,
                        help=f"comma-separated subset of the phases ({ALL_PHASES}), or 'steps': where a webhook's "
                        "gateway CPU goes under load (not in a full run: its probe costs CPU of its own)")
    parser.add_argument("--out", type=Path, help="directory for latest.json and the plot (default: bench/results for a "
                        "full run, bench/results/partial for --quick or a subset of --phases)")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, databases)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG (matplotlib not needed)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = output_directory(args.quick, args.phases)
    return args


def output_directory(quick: bool, phases: str) -> Path:
    """Where a run writes when not told: the plot the README links (bench/results/latest.png) is a full run's; a
    quick or partial run put its own there, small sizes or missing phases, over the committed one."""
    full = not quick and set(phases.split(",")) >= set(ALL_PHASES.split(","))
    return RESULTS if full else RESULTS / "partial"


def build_config(args: argparse.Namespace) -> Config:
    config = Config.quick() if args.quick else Config()
    overrides = {
        "intake_reports": args.intake_reports, "intake_repeats": args.intake_repeats,
        "e2e_reports": args.e2e_reports, "naive_reports": args.naive_reports,
        "bare_seconds": args.bare_seconds, "sweep_seconds": args.sweep_seconds,
        "latency_seconds": args.latency_seconds, "e2e_latency_seconds": args.latency_seconds,
        "workers": args.workers, "naive_workers": args.naive_workers, "connections": args.connections,
        "warmup": args.warmup, "processes": args.processes,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    return config


def run(args: argparse.Namespace) -> dict[str, object]:
    config = build_config(args)
    phases = {name.strip() for name in args.phases.split(",") if name.strip()}
    results: dict[str, object] = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                  "machine": machine(), "config": config_dict(config)}
    workdir = tempfile.mkdtemp(prefix="lapor-bench-")
    if args.keep:
        print(f"run directory: {workdir}", file=sys.stderr)
    try:
        bench = Bench(config, Path(workdir), log=lambda line: print(line, file=sys.stderr, flush=True))
        results["load_generator"] = "wrk" if bench.use_wrk else "asyncio client"
        for name in ("bare", "intake", "e2e", "naive", "scale", "steps"):
            if name not in phases:
                continue
            print(f"phase {name} ...", file=sys.stderr, flush=True)
            began = time.monotonic()
            if name == "intake":
                results["intake"], results["sweep"] = bench.intake()
            else:
                results[name] = getattr(bench, name)()
            print(f"phase {name}: {time.monotonic() - began:.1f}s", file=sys.stderr, flush=True)
            if name == "intake" and "bare" in phases:  # the ceiling again: intake/bare divides by the mean of the two
                print("phase bare (after intake) ...", file=sys.stderr, flush=True)
                began = time.monotonic()
                results["bare_after"] = bench.bare()
                print(f"phase bare (after intake): {time.monotonic() - began:.1f}s", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["loadavg_1m_end"] = round(__import__("os").getloadavg()[0], 2)  # type: ignore[index]
    results.update(evaluate(results))
    return results


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """A stop (SIGTERM) unwinds like Ctrl-C: every phase stops its processes and the run's directory is removed."""
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    if not args.no_plot and "sweep" in results:
        plot(results, args.out / "latest.png")
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    print(table(results))
    verified = all(value for value in results.get("verified", {}).values())  # type: ignore[union-attr]
    return 0 if verified else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(main())
