# Two commands on a fresh machine: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The project's own modules compiled once: every process a test starts imports them, and where the environment says
# not to write bytecode (PYTHONDONTWRITEBYTECODE) each one compiled them again (half a second of CPU a process).
PACKAGES := gateway channels normalizer workers triage casestore bench

.PHONY: run test lint bench clean

# A .venv without pip is made again: `python3 -m venv` leaves one behind when it fails half-way (Debian or Ubuntu
# without python3-venv: no ensurepip), and every later `make` skipped to `pip install` and failed on it.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `exec`: the supervisor takes the recipe shell's place, so a signal sent to the process make started reaches it.
run: $(STAMP)
	$(BIN)/python -m compileall -q $(PACKAGES) >/dev/null
	LAPOR_PROFILE=$${LAPOR_PROFILE:-development} exec $(BIN)/lapor-gateway dev

# Eight test processes on the two cores: most tests wait on sockets, subprocesses and timers (operator commands are
# forked from a warmed-up server, tests/cli_process.py), so with five the cores were still idle part of the time;
# each has its own Redis database (REDIS_URL's number plus its index: keep it at 8 or below) and port band; fault
# tests run in one group. Measured on a shared two-core machine: 6,959 tests in 4:24 with eight, from a clean clone
# (3,811 took 4:14 with eight; 2,721 took 5:25-6:10 with five); 11,004 tests on another: 6:04 to 6:24 with eight,
# 7:13 with six, 7:18 with twelve (the cores busy throughout: more processes only share them); 11,698 tests in 5:40
# to 5:58 with eight on an EPYC once the tests' fixed waits were cut (twelve: 6:04, and past eight the test processes
# share the port bands of the first eight).
PYTEST_WORKERS ?= 8

# Each test process rewrites the asserts of every test module and pytest plugin module it imports;
# tests/warm_asserts.py writes pytest's cache of them once first (where PYTHONDONTWRITEBYTECODE is set, no test
# process keeps its own): collecting the tests costs each process 10 s of CPU instead of 17.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m compileall -q $(PACKAGES) >/dev/null
	$(BIN)/python tests/warm_asserts.py
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.bench-installed

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
