# ssm-replicator — the verbs. `make demo` and `make test` are all a newcomer needs.
.PHONY: help setup build lint test test-unit test-integration demo release clean

SHELL        := bash
.SHELLFLAGS  := -euo pipefail -c
PYTHON       ?= python3
VENV         := $(CURDIR)/.venv
VENV_OK      := $(VENV)/.installed
CARGO        ?= cargo
WITH_EMU     := scripts/with-emulator
# The emulator, cargo-lambda and zig live in the project venv; zig and cargo-zigbuild cache here.
export PATH            := $(VENV)/bin:$(PATH)
export XDG_CACHE_HOME  ?= $(CURDIR)/.cache

help:
	@echo "make demo   - run the real Lambda binary locally against the AWS emulator (moto server)"
	@echo "make test   - lint, unit and property tests, integration tests against the emulator, demo"
	@echo "make lint   - cargo fmt --check and clippy -D warnings"
	@echo "make build  - debug build of the library and the Lambda binary"
	@echo "make release - arm64 Lambda zip with cargo-lambda (target/lambda/ssm-replicator-lambda)"
	@echo "make clean  - remove build output, the venv and caches"

# Project-local Python venv: moto server (the AWS emulator), boto3 for the demo, cargo-lambda with ziglang.
$(VENV_OK): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV_OK)

build:
	$(CARGO) build --locked --all-targets

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

test-unit:
	$(CARGO) test --locked --lib --bins

test-integration: setup
	$(WITH_EMU) $(CARGO) test --locked --test integration

test: setup lint test-unit test-integration demo

demo: setup
	$(CARGO) build --locked --bin ssm-replicator-lambda
	$(WITH_EMU) $(VENV)/bin/python scripts/demo.py

release: setup
	rustup target add aarch64-unknown-linux-gnu
	$(CARGO) lambda build --release --arm64 --bin ssm-replicator-lambda --output-format zip

clean:
	$(CARGO) clean
	rm -rf $(VENV) .cache
