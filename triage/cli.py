"""`lapor-gateway triage`: what a text would get, retraining from an operator's export, and the evaluation."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from gateway.private_files import TEMPORARY_SUFFIX, remove_orphans, write_atomically
from gateway.settings import Settings, SettingsError, load_settings, unknown_variables

# Messages are not wrapped at the terminal width: paths and category names stay whole, to copy and to grep.
console = Console(soft_wrap=True)
# Warnings about the configuration, apart from what a command prints (`--json` stays one JSON document).
errors = Console(stderr=True, soft_wrap=True)


class _TextByDefault(TyperGroup):
    """`lapor-gateway triage "<text>"` means `lapor-gateway triage show "<text>"`, its options before the text too
    (`triage --kind aspirasi "<text>"` was "No such option: --kind")."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        asks_help = args in (["--help"], ["-h"])
        if args and not asks_help and not any(arg in self.commands for arg in args):
            args = ["show", *args]
        return super().parse_args(ctx, args)


triage_app = typer.Typer(cls=_TextByDefault, no_args_is_help=True,
                         help='Triage suggestions: `triage "<text>"`, `triage train <csv>`, `triage evaluate`.')


def _settings(*, as_json: bool = False) -> Settings:
    """The process settings; a missing production secret does not matter to these offline tools. Settings wrong in
    any profile (a port that is no number) are a configuration error said as the other commands say it, exit 2: the
    command ended on a SettingsError traceback. A `LAPOR_*` variable that names no setting is said on stderr, as
    every other command says it: a misspelt LAPOR_TRIAGE_TRAINING_DATA was ignored here without a word."""
    try:
        settings = load_settings()
    except SettingsError:
        try:
            settings = load_settings({**os.environ, "LAPOR_PROFILE": "development"})
        except SettingsError as error:
            _configuration_error(error, as_json=as_json)
    for name, close in unknown_variables():  # names only: a value may be a secret
        errors.print(f"[yellow]warning:[/yellow] {name} is no setting and is ignored"
                     + (f" (did you mean {close}?)" if close else ""))
    return settings


def _configuration_error(error: SettingsError, *, as_json: bool = False) -> NoReturn:
    """Settings, or a triage table (config/triage/), that cannot be used: said as the other commands say a
    configuration error, exit 2."""
    if as_json:
        console.print_json(data={"error": "configuration_error", "reason": f"configuration error: {error}"})
    else:
        console.print(f"[red]configuration error:[/red] {escape(str(error))}")
    raise typer.Exit(2)


def _cannot_use(path: Path, error: Exception) -> None:
    """A data file refused as a whole, named once: its error names the file itself where it is about the whole file
    ("cannot use x.csv: x.csv: empty file")."""
    console.print(f"[red]cannot use {escape(str(path))}:[/red] {escape(str(error).removeprefix(f'{path}: '))}")


def _cannot_use_training_data(error: Exception, settings: Settings, *, as_json: bool = False) -> NoReturn:
    """The training data cannot be used: say why and where it is set, then exit 2."""
    where = ("triage.training_data (LAPOR_TRIAGE_TRAINING_DATA)" if settings.triage.training_data else
             "the file `triage train` installed: train again, or set LAPOR_TRIAGE_TRAINING_DATA")
    reason = f"cannot use the training data: {error}; see {where}"
    if as_json:
        console.print_json(data={"error": "training_data_unusable", "reason": reason})
    else:
        console.print(f"[red]cannot use the training data:[/red] {escape(str(error))}; see {where}")
    raise typer.Exit(2)


@triage_app.command("show")
def show(text: Annotated[str, typer.Argument(help="The report text.")],
         kind: Annotated[str | None, typer.Option(help="An explicit keyword kind, as the citizen gave it.")] = None,
         json_output: Annotated[bool, typer.Option("--json", help="Print the triage block as JSON.")] = False) -> None:
    """What a report with this text would get (duplicates are not looked up: no Redis is touched)."""
    from normalizer.envelope import ReportKind
    from triage.engine import TriageEngine
    from triage.model import KIND_ALIASES, TrainingDataError
    from triage.text import fold

    # As an export names it too (`aspirasi`, `wbs`): an unknown one ended the command on a traceback.
    named = KIND_ALIASES.get(fold(kind).strip(), fold(kind).strip()) if kind is not None else None
    if named is not None and named not in {k.value for k in ReportKind}:
        known = f"the kinds are {', '.join(k.value for k in ReportKind)} (or {', '.join(KIND_ALIASES)})"
        if json_output:  # one JSON document, as the answer would have been: text there failed a script's parse
            console.print_json(data={"error": "no_such_kind", "reason": f"no such kind: {kind}; {known}"})
        else:
            console.print(f"[red]no such kind:[/red] {escape(kind or '')}; {known}")
        raise typer.Exit(2)
    settings = _settings(as_json=json_output)
    try:
        engine = TriageEngine.build(settings, None)
    except TrainingDataError as error:  # a missing or broken triage.training_data ended the command on a traceback
        _cannot_use_training_data(error, settings, as_json=json_output)
    except SettingsError as error:  # a triage table: a traceback too
        _configuration_error(error, as_json=json_output)
    envelope: dict[str, Any] = {"tracking_id": "0", "channel": "sms", "text": text,
                                "kind": named or "complaint", "explicit_kind": kind is not None}
    block = engine.triage(envelope)
    if json_output:
        console.print_json(block.model_dump_json())
        return
    table = Table(title=f"triage ({block.model_version})", show_header=False)
    region = block.region
    table.add_row("region", "none named" if region is None else (
        f"{region.name} [{region.code}] {region.level}, confidence {region.confidence}"
        + (f" (ambiguous; also {', '.join(a.name for a in region.alternatives)})" if region.ambiguous else "")))
    if region and region.province:
        table.add_row("province", f"{region.province.name} [{region.province.code}]")
    table.add_row("topic", f"{block.topic.category} ({block.topic.confidence:.2f})")
    table.add_row("topic top 3", "; ".join(f"{t.category} {t.probability:.2f}" for t in block.topic.top))
    table.add_row("kind", f"{block.kind.kind.value} ({block.kind.source}, {block.kind.confidence:.2f})")
    table.add_row("language", f"{block.language.code} ({block.language.confidence:.2f})")
    table.add_row("spam", f"{'SUSPECTED' if block.spam.suspected else 'no'} {', '.join(block.spam.reasons)}")
    console.print(table)


@triage_app.command("train")
def train(
    export: Annotated[Path, typer.Argument(help="CSV with a text and a category column (kind, language optional).")],
    replace: Annotated[bool, typer.Option(help="Train on the export alone instead of the seed set plus it.")] = False,
) -> None:
    """Retrain topic and kind from an operator's export; workers pick it up when they restart."""
    from triage.engine import OPERATOR_TRAINING_FILE, kept_models_dir, model_version
    from triage.evaluate import held_out_shortfall, split
    from triage.model import (
        SEED_PATH,
        TextModel,
        TrainingDataError,
        forget_kept_models,
        load_categories,
        read_examples,
    )

    settings = _settings()
    try:
        categories = load_categories()
    except SettingsError as error:
        _configuration_error(error)
    try:
        examples = read_examples(export, categories, least_categories=2 if replace else 1)
    except (TrainingDataError, OSError) as error:
        _cannot_use(export, error)
        raise typer.Exit(2) from None
    if not replace:
        examples = read_examples(SEED_PATH, categories) + examples
    try:
        held_out_train, held_out = split(examples)
    except ValueError:  # a category with a single example cannot be held out: the data is still good to train on
        measured = f"held-out topic accuracy not measured ({held_out_shortfall(examples)})"
    else:
        model = TextModel.train(held_out_train + categories.keyword_examples())
        accuracy = sum(model.predict(e.text)[0].labels[0] == e.category for e in held_out) / len(held_out)
        measured = f"held-out topic accuracy {accuracy:.3f}"
    target = settings.data_dir / OPERATOR_TRAINING_FILE
    # The operator's export holds citizens' words: written whole or not at all, no part of it left under a temporary
    # name by a write that fails (gateway.private_files.write_atomically), nor for long by one killed.
    remove_orphans(target.parent, re.compile(rf"\.{re.escape(target.name)}\..+{re.escape(TEMPORARY_SUFFIX)}"))
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["text", "category", "kind", "language"])
    writer.writerows([e.text, e.category, e.kind.value if e.kind else "", e.language or ""] for e in examples)
    write_atomically(target, text.getvalue().encode("utf-8"), what="training_data")
    console.print(f"{len(examples)} examples in {len({e.category for e in examples})} categories -> {target}")
    # The models workers kept hold the words of the data they were trained on: gone with it (a report taken out of
    # the export leaves the disk), and each worker trains on the new data at its restart.
    forgotten = forget_kept_models(kept_models_dir(settings))
    if forgotten:
        console.print(f"{forgotten} kept model(s) of the earlier training data removed")
    # The version the workers' reports will carry (`triage.model_version`) once they train on it: a digest of this
    # file alone, under another formula, matched no report's, so nobody could tell which workers had picked it up.
    console.print(f"{measured}; model version {model_version(target)}")
    console.print("restart the workers (or set triage.training_data) for the forward worker to use it")


@triage_app.command("evaluate")
def evaluate_command(
    data: Annotated[Path | None, typer.Option(help="Labelled CSV to evaluate on (default: the seed set).")] = None,
) -> None:
    """Print region, topic, kind, language, duplicate and timing figures (uses a private embedded Redis)."""
    from gateway.embedded_redis import EmbeddedRedis
    from gateway.queues import redis_connection
    from triage.evaluate import evaluate, held_out_shortfall, split
    from triage.model import SEED_PATH, TrainingDataError, load_categories, read_examples

    settings = _settings()
    # Read, and held out, before a Redis is started for them: a missing file, or a category with one example, ended
    # the command on a traceback.
    path = data or SEED_PATH
    try:
        examples = read_examples(path, load_categories())
        split(examples)
    except SettingsError as error:
        _configuration_error(error)
    except TrainingDataError as error:
        _cannot_use(path, error)
        raise typer.Exit(2) from None
    except ValueError:
        console.print(f"[red]cannot evaluate on {escape(str(path))}:[/red] {escape(held_out_shortfall(examples))}")
        raise typer.Exit(2) from None
    try:
        with tempfile.TemporaryDirectory() as directory, EmbeddedRedis(Path(directory)) as embedded:
            redis = redis_connection(embedded.url)
            result = evaluate(settings, redis, training_path=path)
            redis.close()
    except SettingsError as error:  # a triage table the engine reads
        _configuration_error(error)
    table = Table(title="triage evaluation")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in result.figures.items():
        table.add_row(name, str(value))
    console.print(table)
    for failure in result.region_failures:
        console.print(f"region: {failure}")
