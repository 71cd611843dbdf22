"""Caches pytest's rewritten modules before the test processes start.

Every test process rewrites the asserts of every test module it collects, and of every module it imports from the
installed pytest plugins' packages (schemathesis, hypothesis, anyio...: pytest rewrites a plugin's whole
distribution): about 11 s of CPU a process for this suite. Where the environment says not to write bytecode
(PYTHONDONTWRITEBYTECODE) none of them keeps the result, so four processes did the same work four times a run.
pytest reads a cached rewrite whether or not it may write one, so writing it once here is enough (the plugins' once
per .venv). The cache is pytest's own (a hash-checked pyc beside each module, named for this pytest's version): an
edited module is rewritten again, and a pytest that changed its format ignores it.
"""

from __future__ import annotations

import importlib.metadata
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from _pytest.assertion import rewrite  # pytest is pinned (pyproject.toml): its cache's format is this version's
from _pytest.config import _iter_rewritable_modules

_QUIET = SimpleNamespace(trace=lambda *_: None)


def cached_rewrite(module: Path) -> Path:
    """The pyc pytest looks for when it imports `module`."""
    return rewrite.get_cache_dir(module) / (module.name[:-3] + rewrite.PYC_TAIL)


def warm(module: Path) -> bool:
    """Writes the module's rewrite unless a current one is there; True when it wrote one.

    A module that does not compile is left to pytest, which reports it where it belongs.
    """
    pyc = cached_rewrite(module)
    if rewrite._read_pyc(module, pyc, _QUIET.trace) is not None:
        return False
    try:
        source_hash, code = rewrite._rewrite_test(module, None)
    except (SyntaxError, ValueError, OSError):
        return False
    pyc.parent.mkdir(exist_ok=True)
    return rewrite._write_pyc(_QUIET, code, source_hash, pyc)


def test_modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.name.startswith("test_") or p.name == "conftest.py")


def plugin_modules() -> list[Path]:
    """The modules pytest marks for rewriting in the distributions that register a plugin (pytest11)."""
    modules: list[Path] = []
    for dist in importlib.metadata.distributions():
        if not any(entry.group == "pytest11" for entry in dist.entry_points):
            continue
        files = [str(file) for file in dist.files or []]
        marked = set(_iter_rewritable_modules(files))
        modules += [Path(dist.locate_file(file)) for file in files
                    if file.endswith(".py") and file.split("/")[0].removesuffix(".py") in marked]
    return [module for module in modules if module.is_file()]


def main(root: Path) -> int:
    modules = test_modules(root) + plugin_modules()
    with ProcessPoolExecutor(max_workers=2) as pool:
        written = sum(pool.map(warm, modules))
    print(f"assert rewrites cached: {written} written, {len(modules) - written} current")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests")))
