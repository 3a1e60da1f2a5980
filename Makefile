# tsxbot: the two commands are `make run` and `make test`; both set up whatever is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.cargo/bin:$(PATH)

VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip --disable-pip-version-check
# The first Python >= 3.11 on PATH.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
# The oldest Rust that builds the core (rust-version in Cargo.toml).
RUST_MIN := $(shell sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
WHEEL = $(firstword $(wildcard dist/tsxbot-*.whl))
ARGS ?=

.PHONY: help run test lint fmt install dev-deps toolchain redis postgres faketime chromium bench clean

help:
	@echo "make run    build and install tsxbot (release) in $(VENV), then run 'tsxbot run-all' (ARGS='...' adds options)"
	@echo "make test   set up, then lint (ruff, mypy, rustfmt, clippy), cargo test and pytest"
	@echo "make fmt    format Python (ruff) and Rust (rustfmt) and apply ruff's safe fixes"
	@echo "make bench  criterion and pytest-benchmark runs with full timing (see BENCHMARKS.md)"

# --- set-up --------------------------------------------------------------------------------------
$(PY):
	@test -n "$(PYTHON)" || { echo "make: Python >= 3.11 is required and none is on PATH."; \
		echo "      Install it (Debian/Ubuntu: apt-get install python3 python3-venv) and run make again."; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
		else echo "make: '$(PYTHON) -m venv' failed; install the venv module (apt-get install python3-venv)"; exit 1; fi; }
	@$(PIP) install -q --upgrade pip

toolchain:
	@command -v cargo >/dev/null 2>&1 || { \
		echo "==> installing the Rust toolchain (rustup)"; \
		command -v curl >/dev/null 2>&1 || { echo "make: Rust is required: install it from https://rustup.rs"; exit 1; }; \
		curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt; }
	@have=$$(cargo --version | cut -d' ' -f2); need=$(RUST_MIN); \
	if [ "$$(printf '%s\n' "$$need" "$$have" | sort -V | head -n1)" != "$$need" ]; then \
		if command -v rustup >/dev/null 2>&1; then echo "==> Rust $$have is older than $$need: rustup update stable"; rustup update stable; \
		else echo "make: Rust >= $$need is required, found $$have: install a newer one (https://rustup.rs)"; exit 1; fi; fi
	@cargo clippy --version >/dev/null 2>&1 && cargo fmt --version >/dev/null 2>&1 || { \
		command -v rustup >/dev/null 2>&1 && rustup component add clippy rustfmt || { \
		echo "make: cargo clippy and cargo fmt are required (rustup component add clippy rustfmt)"; exit 1; }; }

# Build the wheel in release mode and install it (and its runtime dependencies) into the venv.
install: $(PY) toolchain
	@$(PIP) install -q "maturin>=1.9,<2"
	@echo "==> building the tsxbot wheel (release)"
	@rm -rf dist && $(BIN)/maturin build --release --out dist 2>&1 | grep -E "Built wheel|error|warning" || true
	@test -n "$$(ls dist/tsxbot-*.whl 2>/dev/null)" || { echo "make: the wheel build failed; run '$(BIN)/maturin build --release' to see why"; exit 1; }
	@$(PIP) install -q --force-reinstall --no-deps dist/tsxbot-*.whl
	@$(PIP) install -q "$$(ls dist/tsxbot-*.whl)"

dev-deps: install redis postgres faketime chromium
	@$(PIP) install -q "$$(ls dist/tsxbot-*.whl)[dev]"

# The tests start their own redis-server on a free port (never the machine's 6379).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "==> installing redis-server (apt)"; apt-get update -qq && apt-get install -y -qq redis-server; \
		else echo "make: the tests need a redis-server binary: install it (apt-get install redis-server, brew install redis)"; \
			echo "      (with REDIS_URL set, most tests use that Redis, but the restart tests always start their own)"; exit 1; fi; }

# The journal's PostgreSQL tests start their own server (initdb + postgres from Debian's
# /usr/lib/postgresql/*/bin, in a temporary directory, on a free port; never the machine's 5432).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "==> installing postgresql (apt)"; apt-get update -qq && apt-get install -y -qq postgresql; \
		else echo "make: the journal tests need PostgreSQL's initdb and postgres (apt-get install postgresql)"; exit 1; fi; }

# The HTML report test opens the report in Debian's chromium (headless) through the playwright
# package; Playwright's own browser download is not used.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "==> installing chromium (apt)"; apt-get update -qq && apt-get install -y -qq chromium; \
		else echo "make: the HTML report test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"; exit 1; fi; }

# A slow test runs the process tests with the machine's clock faked to a Saturday and to a weekday
# at 15:30 CT (libfaketime), proving no test depends on the time of day; skipped without it.
faketime:
	@command -v faketime >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "==> installing faketime (apt)"; apt-get update -qq && apt-get install -y -qq faketime; \
		else echo "make: note: without the faketime binary the faked-clock test is skipped (apt-get install faketime)"; fi; }

# --- the two commands ----------------------------------------------------------------------------
# `make run` on the simulator: a moment and speed where the three example bots trade within the
# first minutes (Tue 2026-11-24 from 07:30 CT, seed 1, 60x: PDH_PDL at ~10 s, EMA_CROSS at ~1 min,
# ORB_RUBBER_BAND at ~2 min). RUN_SIM= (empty) runs the simulator as configured instead.
RUN_SIM ?= --set simulator.startTime=2026-11-24T13:30:00Z --set simulator.seed=1 --set simulator.speed=60

run: install
	$(BIN)/tsxbot run-all $(RUN_SIM) $(ARGS)

test: dev-deps lint
	cargo test --workspace --all-targets
	$(BIN)/pytest

# --- habits --------------------------------------------------------------------------------------
lint: dev-deps
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	PYO3_PYTHON=$(abspath $(PY)) cargo clippy --workspace --features python -- -D warnings

fmt: $(PY)
	@$(PIP) install -q "ruff>=0.6"
	$(BIN)/ruff check --fix python tests benches
	$(BIN)/ruff format python tests benches
	cargo fmt --all

bench: dev-deps
	cargo bench --workspace
	$(BIN)/pytest benches/python --benchmark-only --benchmark-columns=min,median,mean,max,rounds

clean:
	rm -rf dist target .venv .pytest_cache .mypy_cache .ruff_cache .benchmarks
