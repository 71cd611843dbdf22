"""The README as an engineer acts on it: its links lead somewhere, its Procfile table is the Procfile, every command,
option and make target it names exists, and every short form of a variable (`_PORT` after `LAPOR_EMAIL_RELAY_HOST`)
ends a variable that exists. The settings' names and defaults are checked in tests/test_settings.py."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer

from gateway.cli import app
from gateway.settings import CONFIG_DIR, env_name

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _lines_outside_code(*, spans: bool = False) -> list[tuple[int, str]]:
    """The prose's lines, without its inline code spans unless asked (`[text](address)` there is no link)."""
    lines, fenced = [], False
    for number, line in enumerate(README.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line if spans else re.sub(r"`[^`]*`", "", line)))
    return lines


def _code_lines() -> list[tuple[int, str]]:
    """Each line of a fenced block, and each inline code span of the prose, with its line."""
    found, fenced = [], False
    for number, line in enumerate(README.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            found.append((number, line))
        else:
            found += [(number, span) for span in re.findall(r"`([^`]+)`", line)]
    return found


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (backticks, colons, slashes...), spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors() -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _lines_outside_code(spans=True):
        if match := re.match(r"#{1,6} (.+)", line):
            slug = _slug(match.group(1))
            anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_every_link_to_a_place_in_the_readme_finds_its_heading() -> None:
    anchors = _anchors()
    assert len(anchors) > 20  # the headings are read at all
    broken = [(number, anchor) for number, line in _lines_outside_code()
              for anchor in re.findall(r"\]\(#([^)]+)\)", line) if anchor not in anchors]
    assert broken == []


def test_every_file_the_readme_links_is_in_the_repository() -> None:
    linked = [(number, target) for number, line in _lines_outside_code()
              for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", line)]
    assert len(linked) > 5
    assert [(number, target) for number, target in linked if not (ROOT / target).exists()] == []


def test_the_procfile_table_is_the_procfile() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    table = dict(re.findall(r"^\| `([a-z]+)` \| `(lapor-gateway [^`]+)` \|", README, flags=re.MULTILINE))
    assert table == procfile


def _command(path: list[str]) -> tuple[Any, list[str]]:
    """The command the words after `lapor-gateway` name, and the words that named it."""
    command = typer.main.get_command(app)
    named: list[str] = []
    for word in path:
        if not hasattr(command, "commands"):  # a command, not a group (typer's own click, not click.Group)
            break
        if word not in command.commands:
            if command.name == "triage":  # `lapor-gateway triage "<text>"` is `triage show "<text>"`
                word = "show"
            else:
                raise AssertionError(f"no command {' '.join([*named, word])!r}")
        command = command.commands[word]
        named.append(word)
    return command, named


def _cli_uses() -> list[tuple[int, str]]:
    return [(number, use) for number, code in _code_lines()
            for use in re.findall(r"(?:^|[\s;&|(])lapor-gateway( [^#`]*)?", code)]


def test_every_command_and_option_the_readme_names_exists() -> None:
    uses = _cli_uses()
    assert len(uses) > 40
    wrong = []
    for number, use in uses:
        path = list(itertools.takewhile(lambda word: re.fullmatch(r"[a-z][a-z-]*", word), use.split()[:3]))
        try:
            command, _ = _command(path)
        except AssertionError as error:
            wrong.append((number, str(error)))
            continue
        options = {name for param in command.params for name in [*param.opts, *param.secondary_opts]}
        wrong += [(number, f"{command.name} has no {option}") for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", use)
                  if option not in options and option != "--help"]
    assert wrong == []


def test_every_make_target_the_readme_names_is_in_the_makefile() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    named = {(number, target) for number, code in _code_lines()
             for target in re.findall(r"(?:^|[\s;&|(])make ([a-z][a-z-]*)", code)}
    assert {"run", "test", "bench"} <= {target for _, target in named}
    assert sorted((number, target) for number, target in named if target not in targets) == []


def _settings() -> set[str]:
    raw = tomllib.loads((CONFIG_DIR / "defaults.toml").read_text(encoding="utf-8"))
    return ({env_name(section, key) for section, value in raw.items() if isinstance(value, dict) for key in value}
            | {env_name(None, key) for key, value in raw.items() if not isinstance(value, dict)})


def _short_forms() -> list[tuple[int, str, str | None, str | None]]:
    """(line, short form, the variable it follows, the setting it ends) of every `_KEY` or `..._KEY` of the
    README: it ends the last variable named before it in its paragraph or table row (or the one it is said to
    come `after`) in place of that variable's last words, as "Configuration" says."""
    known = _settings()
    found = []
    for block in re.finditer(r"(?:.+\n?)+", README):
        start = README.count("\n", 0, block.start()) + 1
        last = None
        for token in re.finditer(r"LAPOR_[A-Z0-9_]*[A-Z0-9]|`(?:\.\.\.)?(_[A-Z][A-Z0-9_]*[A-Z0-9])`"
                                 r"(?:\s+after\s+`(LAPOR_[A-Z0-9_]+)`)?", block.group(0)):
            short, said = token.group(1), token.group(2)
            if short is None:
                last = token.group(0)
                continue
            follows = said or last
            parts = (follows or "").split("_")
            ends = next((name for name in ("_".join(parts[:n]) + short for n in range(len(parts) - 1, 1, -1))
                         if name in known), None)
            found.append((start + block.group(0).count("\n", 0, token.start()), short, follows, ends))
    return found


def test_every_short_form_ends_a_variable_of_the_setting_before_it() -> None:
    """`_HOST` after `LAPOR_EMAIL_MAX_MESSAGE_BYTES`, meaning the IMAP poller's host, sent a reader to look for a
    LAPOR_EMAIL_MAX_MESSAGE_HOST, or to guess."""
    forms = _short_forms()
    assert len(forms) > 20
    assert [(number, short, follows) for number, short, follows, ends in forms if ends is None] == []


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("`LAPOR_EMAIL_RELAY_HOST` (`_PORT` 587, `_USER`)",
                 ["LAPOR_EMAIL_RELAY_PORT", "LAPOR_EMAIL_RELAY_USER"], id="relay"),
    pytest.param("`LAPOR_X_AUTH_RETRY_SECONDS`, `..._ERROR_RETRY_SECONDS`", ["LAPOR_X_ERROR_RETRY_SECONDS"], id="dots"),
    pytest.param("`LAPOR_EMAIL_MAX_MESSAGE_BYTES` ... after `_HOST` change", [None], id="wrong-stem"),
    pytest.param("`..._MAX_PAGES` after `LAPOR_X_MAX_RESULTS`", ["LAPOR_X_MAX_PAGES"], id="said-after"),
])
def test_a_short_form_is_read_as_the_readme_says(text: str, expected: list[str | None],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.README", text + "\n")
    assert [ends for *_, ends in _short_forms()] == expected


def _architecture_rows() -> dict[str, str]:
    """The Architecture table: each `directory/` and its cell."""
    section = README[README.index("\n## Architecture"):README.index("\n## Performance")]
    return dict(re.findall(r"^\| `(\w+)/` \| (.+) \|$", section, flags=re.MULTILINE))


def test_every_module_the_architecture_table_names_exists_and_every_module_is_named() -> None:
    """An engineer finds a piece by the Architecture table: a module it names that is not there (renamed, moved),
    or one it leaves out (gateway/same_text.py, workers/reply_order.py were), sends them to search the tree. A module
    is named by its file name, by `python -m package.module`, or as `(+ `_send`)` after the module it extends;
    `bench/` is named as a whole."""
    rows = _architecture_rows()
    packages = ("channels", "gateway", "workers", "normalizer", "triage", "casestore")
    assert set(packages) <= set(rows)
    absent = [f"{directory}/{name}" for directory, cell in rows.items()
              for name in re.findall(r"`([\w/]+\.(?:py|toml|yaml))`", cell)
              if not list((ROOT / directory).rglob(name)) and not (ROOT / name).exists()]
    assert absent == []
    unnamed = []
    for directory in packages:
        cell = rows[directory]
        named = {Path(name).name for name in re.findall(r"`([\w/]+\.py)`", cell)}
        named |= {f"{module}.py" for module in re.findall(rf"python -m {directory}\.(\w+)", cell)}
        suffixes = tuple(re.findall(r"\(\+ `(_\w+)`\)", cell))
        for module in sorted((ROOT / directory).rglob("*.py")):
            if module.name != "__init__.py" and module.name not in named and not module.stem.endswith(suffixes):
                unnamed.append(str(module.relative_to(ROOT)))
    assert unnamed == []


def test_status_strict_help_names_what_it_exits_1_on_as_the_readme_does() -> None:
    """`status --strict` exits 1 whenever the overall state is degraded: a declared case-store outage, a refused
    token, a spool that cannot be written or replayed, or Redis's lost data, with every channel ok. Its help said
    "when a channel is degraded", and a cron check written from it missed the rest."""
    command, _ = _command(["status"])
    strict = next(param for param in command.params if "--strict" in param.opts)
    said = "when the overall state is degraded"
    assert said in (strict.help or ""), strict.help
    assert f"(`--strict`: 1 {said}" in README
