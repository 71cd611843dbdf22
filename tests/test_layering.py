"""Data flows one way: channels -> normalizer -> intake/queues -> workers (README "Architecture").

A channel never imports a worker, a worker never imports a channel's HTTP handler, and the normalizer imports
neither. Shared gateway code loads no channel's HTTP handler either: only the modules that wire the adapters in
(`WIRING`) reach the registry. Read from the source (every `import` statement, those inside functions too, since one
runs as soon as its function does), followed through every first-party module in between: a channel that reaches a
worker through a gateway module breaks the rule as much as one that imports it itself. A failure names the whole
chain.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import pytest

from channels.base import WebhookAdapter
from channels.registry import WEBHOOK_ADAPTERS
from tests.conftest import REPO_ROOT

PACKAGES = ("casestore", "channels", "gateway", "normalizer", "triage", "workers")


def _module_name(path_parts: tuple[str, ...]) -> str:
    parts = path_parts[:-1] if path_parts[-1] == "__init__" else path_parts
    return ".".join(parts)


def _module_paths() -> dict[str, Path]:
    return {_module_name(path.relative_to(REPO_ROOT).with_suffix("").parts): path
            for package in PACKAGES for path in sorted((REPO_ROOT / package).rglob("*.py"))}


# Parsed when a test first follows them, not when the module is collected: every test process collects this file,
# and parsing all of them there cost each one a second of CPU.
PATHS = _module_paths()
MODULES: dict[str, ast.Module] = {}
GRAPH: dict[str, dict[str, int]] = {}


def _known(name: str) -> bool:
    return name in PATHS or name in MODULES


def _tree(name: str) -> ast.Module:
    if name not in MODULES:
        MODULES[name] = ast.parse(PATHS[name].read_text(), filename=str(PATHS[name]))
    return MODULES[name]


def _imports_of(name: str) -> dict[str, int]:
    if name not in GRAPH:
        GRAPH[name] = _imports(name)
    return GRAPH[name]


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if (REPO_ROOT / importer.replace(".", "/") / "__init__.py").exists() else \
        importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _with_parents(name: str) -> Iterable[str]:
    """A module and the packages Python loads before it (`a.b.c`: `a.b.c`, `a.b`, `a`), those we have; the module
    first, so that a chain names it rather than its package."""
    parts = name.split(".")
    return [candidate for i in range(len(parts), 0, -1) if _known(candidate := ".".join(parts[:i]))]


def _imports(name: str) -> dict[str, int]:
    """The first-party modules `name` imports, each with the line of its first import there."""
    found: dict[str, int] = {}
    for node in ast.walk(_tree(name)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node)
            targets = [f"{base}.{alias.name}" for alias in node.names if _known(f"{base}.{alias.name}")] + [base]
        for target in targets:
            for module in _with_parents(target):
                if module != name:
                    found.setdefault(module, node.lineno)
    return found


def _chain(start: str, forbidden: set[str]) -> str | None:
    """The shortest import chain from `start` to a forbidden module, as `a:12 -> b:3 -> c`, or None."""
    previous: dict[str, tuple[str, int] | None] = {start: None}
    waiting = deque([start])
    while waiting:
        current = waiting.popleft()
        if current in forbidden:
            steps, at = [current], previous[current]
            while at is not None:
                steps.append(f"{at[0]}:{at[1]}")
                at = previous[at[0]]
            return " -> ".join(reversed(steps))
        for imported, line in _imports_of(current).items():
            if imported not in previous:
                previous[imported] = (current, line)
                waiting.append(imported)
    return None


def _under(*packages: str) -> set[str]:
    return {name for name in PATHS.keys() | MODULES.keys() if name.split(".")[0] in packages}


# A channel's HTTP handler: every registered webhook adapter's module, the adapter base and the registry itself.
HANDLER_MODULES = {adapter.__module__ for adapter in WEBHOOK_ADAPTERS.values()} | {
    WebhookAdapter.__module__, "channels.registry"}

# What reaches the adapters to wire them in: the HTTP app routes them, the CLI reads which are switched off.
WIRING = {"gateway.app", "gateway.cli"}

RULES = [
    pytest.param(_under("channels"), _under("workers"), id="a-channel-never-imports-a-worker"),
    pytest.param(_under("workers"), HANDLER_MODULES, id="a-worker-never-imports-a-channels-http-handler"),
    pytest.param(_under("normalizer"), _under("channels", "workers"), id="the-normalizer-imports-no-channel-or-worker"),
    pytest.param(_under("gateway") - WIRING, HANDLER_MODULES, id="shared-gateway-code-imports-no-channel-handler"),
]


@pytest.mark.parametrize(("importers", "forbidden"), RULES)
def test_data_flows_one_way(importers: set[str], forbidden: set[str]) -> None:
    chains = [chain for name in sorted(importers) if (chain := _chain(name, forbidden))]
    assert not chains, "imports against the flow:\n" + "\n".join(chains)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("from workers.reply import send_reply\n", "channels.x:1 -> workers.reply", id="from-import"),
        pytest.param("import workers.reply\n", "channels.x:1 -> workers.reply", id="plain-import"),
        pytest.param("def later():\n    from workers import status\n", "channels.x:2 -> workers.status",
                     id="inside-a-function"),
        pytest.param("from gateway.y import z\n", "channels.x:1 -> gateway.y:1 -> workers.reply",
                     id="through-a-gateway-module"),
        pytest.param("from gateway.errors import RejectedInput\n", None, id="allowed"),
    ],
)
def test_an_import_against_the_flow_is_found_with_its_chain(
        monkeypatch: pytest.MonkeyPatch, source: str, expected: str | None) -> None:
    """The checker itself, on made-up modules: a rule that finds nothing must be because nothing is there."""
    monkeypatch.setitem(MODULES, "channels.x", ast.parse(source))
    monkeypatch.setitem(MODULES, "gateway.y", ast.parse("from workers.reply import send_reply\n"))
    monkeypatch.setitem(GRAPH, "channels.x", _imports("channels.x"))
    monkeypatch.setitem(GRAPH, "gateway.y", _imports("gateway.y"))
    assert _chain("channels.x", _under("workers")) == expected


def _defined_twice(tree: ast.Module) -> list[str]:
    """The module-level functions, classes and constants defined again further down: the later one takes the name for
    every caller, the earlier one's included (a module's helper `_next_word` defined a second time, with a dot kept on
    the word, had the sign-off code that called the first read "Rahayu." as no name of hers; a pattern `_CLAUSE_AFTER`
    defined again for another use changed what the first's callers read)."""
    seen: dict[str, int] = {}
    twice = []
    for node in tree.body:
        for name in _names_defined(node):
            if name in seen:
                twice.append(f"{name} (lines {seen[name]} and {node.lineno})")
            seen[name] = node.lineno
    return twice


def _names_defined(node: ast.stmt) -> list[str]:
    """The function's or class's name a statement defines, or the constants (names in capitals) it assigns."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return [target.id for target in targets if isinstance(target, ast.Name) and _CONSTANT.fullmatch(target.id)]


_CONSTANT = re.compile(r"_?[A-Z][A-Z0-9_]*")


def test_no_module_defines_a_function_or_class_twice() -> None:
    found = {name: twice for name in PATHS if (twice := _defined_twice(_tree(name)))}
    assert found == {}


def test_a_function_defined_twice_is_found() -> None:
    """The checker itself: a rule that finds nothing must be because nothing is there."""
    source = "def _next_word(line):\n    pass\n\nclass A:\n    pass\n\ndef _next_word(text):\n    pass\n"
    assert _defined_twice(ast.parse(source)) == ["_next_word (lines 1 and 7)"]
    source = "_CLAUSE = re.compile('a')\nlimit = 1\nlimit = 2\n_CLAUSE: re.Pattern[str] = re.compile('b')\n"
    assert _defined_twice(ast.parse(source)) == ["_CLAUSE (lines 1 and 4)"]
