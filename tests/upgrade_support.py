"""The release before this one, for tests of a rolling upgrade: both run side by side against one Redis while the
processes are upgraded one by one, so what this release writes the previous one must read, and the other way round.

A module of the previous release is its source at that commit (`git show`, from this repository's own history: a
clone has it), run against this tree's other modules. Without that history (an export, a shallow clone) the tests
that use it skip."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The release deployed before this one.
PREVIOUS_RELEASE = "785442f"


def previous_module(path: str) -> ModuleType:
    """The previous release's module at `path` (e.g. `gateway/concat.py`), loaded under a name of its own."""
    name = "previous_release." + path.removesuffix(".py").replace("/", ".")
    if name in sys.modules:
        return sys.modules[name]
    try:
        source = subprocess.run(["git", "show", f"{PREVIOUS_RELEASE}:{path}"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"the previous release ({PREVIOUS_RELEASE}) is not in this checkout's history")
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    try:
        exec(compile(source, f"{PREVIOUS_RELEASE}:{path}", "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module
