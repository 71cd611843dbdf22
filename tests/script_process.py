"""`python -c <script> <args>` in a process forked from the server of tests/cli_process.py, the libraries imported.

A script that must run in a process of its own (it forks, takes signals, or must have no other thread) paid the
interpreter's start-up and its imports at every run: most of the second each such test took. Forked from the server,
the child is as fresh for what the script tests: one thread, the default signal handlers, none of the test process's
state; its output goes to files, read back as `subprocess.run(..., capture_output=True, text=True)` would give it.
Kept apart from the test modules: the child imports this module to find its target, and nothing else of the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.cli_process import fork, output_to


def _script(script: str, argv: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """The child: the caller's environment (the server's is that of the test process that started it, earlier), its
    output to the files, its directory, `sys.argv` as `python -c` gives it, then the script as `__main__`. An
    exception it raises exits 1 with its traceback on stderr (multiprocessing's), as the interpreter's would;
    SystemExit its code."""
    os.environ.clear()
    os.environ.update(env)
    output_to(stdout, stderr)
    os.chdir(cwd)
    sys.path.insert(0, "")  # as `python -c`: the working directory first
    sys.argv = ["-c", *argv]
    exec(compile(script, "<string>", "exec"), {"__name__": "__main__"})


def run_script(script: str, *argv: str, cwd: str | Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """As `subprocess.run([python, "-c", script, *argv], capture_output=True, text=True, timeout=timeout, cwd=cwd)`."""
    args = [sys.executable, "-c", script, *argv]
    with tempfile.TemporaryDirectory(prefix="lapor-script-") as scratch:
        stdout, stderr = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
        child = fork(args, _script, script, list(argv), dict(os.environ), str(cwd), stdout, stderr)
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        output, errors = (Path(path).read_text(encoding="utf-8", errors="replace") if os.path.exists(path) else ""
                          for path in (stdout, stderr))
    return subprocess.CompletedProcess(args, code, output, errors)
