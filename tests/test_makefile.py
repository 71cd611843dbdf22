"""`make run` and `make test` on a fresh machine: the Makefile's own set-up of `.venv`, with a stand-in for the
system's Python that fails as a Debian or Ubuntu one without python3-venv does. Nothing is installed: the stand-in
makes its virtual environments without pip, and the run ends where pip would be called."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _python_without_ensurepip(directory: Path) -> Path:
    """A `python3` whose `-m venv` leaves what the real one leaves without ensurepip: a virtual environment without
    pip, and exit 1. Each call is written down in `calls`."""
    base = getattr(sys, "_base_executable", sys.executable)
    script = directory / "python3"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{directory}/calls"\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n'
        f'  "{base}" -m venv --without-pip "$3" || exit 1\n'
        '  echo "The virtual environment was not created successfully because ensurepip is not available." >&2\n'
        "  exit 1\n"
        "fi\n"
        f'exec "{base}" "$@"\n'
    )
    script.chmod(0o700)
    return script


def test_a_venv_left_without_pip_by_a_failed_first_make_is_made_again(tmp_path: Path) -> None:
    """`python3 -m venv` without ensurepip fails half-way and leaves `.venv/bin/python` behind. The Makefile made
    `.venv` only where it found no `.venv/bin/python`: once python3-venv was installed, every `make run` skipped the
    venv and failed on `No module named pip`, until the engineer thought of deleting `.venv` by hand."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, checkout / name)
    python = _python_without_ensurepip(tmp_path)

    def make() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", ".venv/.installed", f"PYTHON={python}"], cwd=checkout,
                              capture_output=True, text=True, timeout=60)

    first = make()
    assert first.returncode != 0 and "ensurepip is not available" in first.stderr, first.stdout + first.stderr
    second = make()  # as after `apt install python3-venv`, here failing alike

    assert second.returncode != 0
    assert "No module named pip" not in second.stderr, second.stdout + second.stderr
    made = [call for call in (tmp_path / "calls").read_text().splitlines() if call.startswith("-m venv")]
    assert len(made) == 2, made
