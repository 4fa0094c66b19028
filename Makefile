# One command per chore; CI runs the same ones (.ci/run -> make test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Rust extensions (built by maturin with rustup's cargo): the sinks' binary COPY encoder and the
# race analytics.
NATIVE := $(wildcard native/*/Cargo.* native/*/pyproject.toml native/*/*.pyi native/*/src/*.rs)
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: install up test unit integration e2e check lint format bench bench-peers schemas clean

install: $(STAMP)

$(STAMP): pyproject.toml $(NATIVE)
	bash scripts/ensure-system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "Building the Rust extensions (native/pgcopy, native/market): a few minutes the first time"
	bash -o pipefail -c '$(BIN)/python -m pip install -v ./native/pgcopy ./native/market 2>&1 \
	  | { grep --line-buffered -E "^ *(Compiling|Finished|Successfully installed)" || true; }'
	$(BIN)/python -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

up: install  ## the whole system: Kafka, PostgreSQL, simulator, streams, API (Ctrl-C stops)
	$(BIN)/darkhorses up

test: check  ## lint, types, then unit, integration and browser tests on real Kafka and PostgreSQL
	bash scripts/ensure-system-deps --browser
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install  ## the dashboard in headless Chromium against `darkhorses up`
	bash scripts/ensure-system-deps --browser
	$(BIN)/pytest tests/e2e

check: install  ## ruff (lint and format) and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## benchmarks; figures in bench/results/latest.json
	bash scripts/ensure-system-deps --bench
	$(BIN)/python -m bench

# Centrifugo, built from the Go module proxy (needs Go; `make bench` does not).
CENTRIFUGO_VERSION := v6.9.1
CENTRIFUGO := .cache/centrifugo/$(CENTRIFUGO_VERSION)/centrifugo

$(CENTRIFUGO):
	GOBIN=$(CURDIR)/$(dir $(CENTRIFUGO)) GOFLAGS=-mod=mod go install github.com/centrifugal/centrifugo/v6@$(CENTRIFUGO_VERSION)

bench-peers: install $(CENTRIFUGO)  ## the live stream against Centrifugo, same load and client
	bash scripts/ensure-system-deps --bench
	CENTRIFUGO=$(CURDIR)/$(CENTRIFUGO) $(BIN)/python -m bench.peers

schemas: install  ## regenerate the checked-in JSON Schemas
	$(BIN)/darkhorses schemas export

clean:
	-$(BIN)/darkhorses kafka stop
	-$(BIN)/darkhorses db stop
	rm -rf .cache tests/artifacts .mypy_cache .ruff_cache .pytest_cache
