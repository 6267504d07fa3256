# ViWorks OS Agent — build, run and test on a Debian 12 machine (as root; apt-get installs what is missing).
SHELL := /bin/bash
export SWIFT_DETERMINISTIC_HASHING := 1
SWIFT ?= swift
PYTHON ?= python3
RELEASE_FLAGS := -c release --static-swift-stdlib
RELEASE_BIN = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/viworks-agent
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)/viworks-agent
LISTEN ?= 127.0.0.1:9740

.PHONY: run build release test test-swift test-e2e deps test-deps bench clean

## Build the release binary and run the agent on this host with the built-in defaults (listens on 127.0.0.1:9740) and the repository's plugins.d.
run: release
	VIWORKS_PLUGINS_DIRECTORY=$(CURDIR)/plugins.d $(RELEASE_BIN) run --listen $(LISTEN)

## The Swift example plugin (examples/plugins/swift/entropy.swift), for plugins.d/entropy-swift.toml.
plugins: examples/plugins/swift/entropy

examples/plugins/swift/entropy: examples/plugins/swift/entropy.swift
	$(SWIFT)c -O $< -o $@

## Debug build of everything, tests included.
build:
	$(SWIFT) build --build-tests

release:
	$(SWIFT) build $(RELEASE_FLAGS) --product viworks-agent

## The whole test suite: Swift unit and fixture tests, then the end-to-end tests of the real binary.
test: test-deps build test-swift test-e2e

test-swift:
	$(SWIFT) test --skip-build

test-e2e:
	VIWORKS_AGENT_BIN=$(DEBUG_BIN) $(PYTHON) -m pytest -q tests/e2e

## Python packages of the end-to-end tests (preinstalled on these machines; installed from PyPI when missing).
test-deps:
	@$(PYTHON) -c 'import pytest, jsonschema, openapi_spec_validator' 2>/dev/null \
	  || $(PYTHON) -m pip install -q pytest jsonschema openapi-spec-validator

## Benchmarks: parser micro-benchmark and the peer comparison (see docs/benchmarks.md).
bench: release
	$(SWIFT) run -c release viworks-bench
	../shared/bench/peerbench.sh --ours '$(RELEASE_BIN) run --listen 127.0.0.1:19300' \
	  http://127.0.0.1:19300/api/v1/status,http://127.0.0.1:19300/metrics,http://127.0.0.1:19300/api/v1/health

clean:
	rm -rf .build
