# ViWorks OS Agent — build, run and test on a Debian 12 machine (as root; apt-get installs what is missing).
SHELL := /bin/bash
export SWIFT_DETERMINISTIC_HASHING := 1
SWIFT ?= swift
PYTHON ?= python3
# Every function in a section of its own (Swift and C), so that --gc-sections drops what is not used and the link can
# place the code that runs in steady state together (Sources/viworks-agent/hot-code.order, Package.swift).
# The release link also takes ICU's data package trimmed to what the agent loads (packaging/icu-data/trim.py): 34 MB
# of the binary were ICU data that full Foundation (GRDB, postgres-nio) brings and nothing reads.
TOOLCHAIN_BIN := $(dir $(realpath $(shell command -v $(SWIFT))))
# (RELEASE_FLAGS is expanded when used: the recipes run after the flags file is written.)
ICU_DATA_LINK := $(CURDIR)/.build/icu-data/swift-build-flags
RELEASE_FLAGS = -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
  $(shell cat $(ICU_DATA_LINK) 2>/dev/null)
RELEASE_BIN = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/viworks-agent
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)/viworks-agent
# swift run takes no --static-swift-stdlib: the benchmarks are built with the release flags and run from the bin path.
RELEASE_BENCH_BIN = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/viworks-bench
LISTEN ?= 127.0.0.1:9740
PREFIX ?= /usr/local
# Debian packages: libsystemd-dev and pkg-config to build (CSystemd), dpkg-dev for `make deb`; systemd, systemd-container, debootstrap, zstd, curl for
# the systemd tests; nginx-light, redis-server, postgresql, openssh-server: real daemons for the services tests; docker.io and
# busybox-static: a real container engine and the test image for the container session tests; chromium and
# chromium-driver: the real browser of the dashboard tests (driven by Selenium through the system's chromedriver);
# faketime: libfaketime, which steps the agent's wall clock in the clock-step test.
DEB_PACKAGES := libsystemd-dev pkg-config dpkg-dev systemd systemd-container debootstrap zstd curl nginx-light redis-server postgresql openssh-server docker.io busybox-static chromium chromium-driver faketime

.PHONY: hot-code-order run build release test test-swift test-e2e test-release test-systemd fuzz fuzz-build deps test-deps install deb bench clean

## Build the release binary and run the agent on this host with the built-in defaults (listens on 127.0.0.1:9740) and the repository's plugins.d.
run: release
	VIWORKS_PLUGINS_DIRECTORY=$(CURDIR)/plugins.d $(RELEASE_BIN) run --listen $(LISTEN)

## The Swift example plugin (examples/plugins/swift/entropy.swift), for plugins.d/entropy-swift.toml.
plugins: examples/plugins/swift/entropy

examples/plugins/swift/entropy: examples/plugins/swift/entropy.swift
	$(SWIFT)c -O $< -o $@

## Debug build of everything, tests included.
build: deps
	$(SWIFT) build --build-tests

release: deps $(ICU_DATA_LINK)
	@# SwiftPM does not know the link reads the hot-code order and the ICU data: a newer one means a new link.
	@for input in Sources/viworks-agent/hot-code.order $(ICU_DATA_LINK); do [ ! $$input -nt $(RELEASE_BIN) ] || rm -f $(RELEASE_BIN); done
	$(SWIFT) build $(RELEASE_FLAGS) --product viworks-agent

ICU_ARCHIVE = $(TOOLCHAIN_BIN)../lib/swift_static/linux/lib_FoundationICU.a
$(ICU_DATA_LINK): packaging/icu-data/trim.py $(ICU_ARCHIVE)
	$(PYTHON) packaging/icu-data/trim.py --tools $(TOOLCHAIN_BIN) --output $(dir $@) --archive $(ICU_ARCHIVE)

## Debian packages the build and the tests need; installs only the missing ones (quick when all are present).
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## The whole test suite: Swift unit and fixture tests, end-to-end tests of the real binary, the time zone tests against
## the release binary, then the release binary under a real journald and a real systemd (Debian 12 booted in
## systemd-nspawn; needs root).
test: deps test-deps build test-swift test-e2e test-release test-systemd fuzz

test-swift:
	$(SWIFT) test --skip-build

test-e2e:
	VIWORKS_AGENT_BIN=$(DEBUG_BIN) $(PYTHON) -m pytest -q tests/e2e

## The end-to-end tests that depend on how the release binary is linked, run against it: those marked `icu_data` (the
## time zones of the reports, webhooks at host names that are not ASCII), whose data comes from the trimmed ICU package
## (packaging/icu-data/trim.py).
test-release: release
	VIWORKS_AGENT_BIN=$(RELEASE_BIN) $(PYTHON) -m pytest -q tests/e2e -m icu_data

## journald and systemd tests of the release binary (tests/systemd; the Debian root filesystem is cached in /var/cache/viworks-ci).
test-systemd: release
	VIWORKS_AGENT_BIN=$(RELEASE_BIN) VIWORKS_AGENT_RELEASE_BIN=$(RELEASE_BIN) $(PYTHON) -m pytest -q tests/systemd

## Python packages of the end-to-end tests (preinstalled on these machines; installed from PyPI when missing).
test-deps:
	@$(PYTHON) -c 'import pytest, jsonschema, openapi_spec_validator, psycopg, schemathesis, selenium' 2>/dev/null \
	  || $(PYTHON) -m pip install -q pytest jsonschema openapi-spec-validator "psycopg[binary]" "schemathesis>=4.32,<5" "selenium>=4.20,<5"

## Fuzzing (docs/fuzzing.md): one libFuzzer executable with every target; Package.swift declares it only when
## VIWORKS_FUZZ=1 and then compiles the agent's own modules with the fuzzer and address sanitizers, reusing the debug
## build's dependencies (a later plain debug build compiles those modules again). `make fuzz` runs each target
## on its committed seed corpus (Fuzz/corpus/TARGET) plus FUZZ_RUNS inputs, with a fixed seed, and fails on any crash,
## sanitizer report, leak or input slower than 10 s; new inputs go to .build/fuzz/corpus, crashes to .build/fuzz/artifacts,
## each target's output to .build/fuzz/TARGET.log. Swift's own crash backtracer is off: libFuzzer and the address
## sanitizer report a crash, and the backtracer's memory reader trips the sanitizer.
FUZZ_TARGETS := plugin-wire plugin-manifest config procfs time docker-stats authorization
FUZZ_RUNS ?= 5000
FUZZ_BUILD_FLAGS := --product viworks-fuzz
FUZZ_BIN = $(shell VIWORKS_FUZZ=1 $(SWIFT) build $(FUZZ_BUILD_FLAGS) --show-bin-path)/viworks-fuzz

fuzz-build:
	VIWORKS_FUZZ=1 $(SWIFT) build $(FUZZ_BUILD_FLAGS)

fuzz: fuzz-build
	@set -e; mkdir -p .build/fuzz/artifacts; for target in $(FUZZ_TARGETS); do \
	  mkdir -p .build/fuzz/corpus/$$target; \
	  echo "== fuzz $$target ($(FUZZ_RUNS) runs)"; \
	  SWIFT_BACKTRACE=enable=no $(FUZZ_BIN) $$target -seed=1 -runs=$(FUZZ_RUNS) -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix=.build/fuzz/artifacts/$$target- .build/fuzz/corpus/$$target Fuzz/corpus/$$target \
	    > .build/fuzz/$$target.log 2>&1 || { tail -60 .build/fuzz/$$target.log; exit 1; }; \
	  grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' .build/fuzz/$$target.log; \
	done

## Install the release binary in $(PREFIX)/bin, the systemd unit in /etc/systemd/system and, only if there is none yet,
## the example configuration as /etc/viworks-agent/agent.toml. Then: systemctl enable --now viworks-agent
install: release
	install -D -m 0755 --strip $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/viworks-agent
	sed 's|/usr/local/bin/viworks-agent|$(PREFIX)/bin/viworks-agent|' examples/systemd/viworks-agent.service > viworks-agent.service.tmp
	install -D -m 0644 viworks-agent.service.tmp $(DESTDIR)/etc/systemd/system/viworks-agent.service
	rm -f viworks-agent.service.tmp
	@if [ -e $(DESTDIR)/etc/viworks-agent/agent.toml ]; then \
	  echo "keeping the existing $(DESTDIR)/etc/viworks-agent/agent.toml"; \
	else \
	  install -D -m 0644 examples/agent.toml $(DESTDIR)/etc/viworks-agent/agent.toml; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed; start it with: systemctl enable --now viworks-agent"

## The Debian package (stripped binary, unit enabled and started on install, agent.toml as a conffile, system user,
## state kept until purge) in DEB_DIR: `apt-get install ./viworks-agent_*.deb`.
DEB_DIR ?= $(CURDIR)/.build/deb
deb: release
	packaging/deb/build.sh $(RELEASE_BIN) $(DEB_DIR)

## Benchmarks (see docs/benchmarks.md): the micro-benchmarks, the scaling benchmarks (processes, services, network, disk and
## history at a small and a large size), the peer comparison at a 1 s interval (ours, node_exporter, Netdata, collectd and
## the C floor; idle RSS sampled 90 s after each peer's warm-up, in steady state: the agent's history flushes every 30 s
## and the first flushes page code back in after the start-up release), then one table of our figures against the
## peers' with the ratios and targets (Benchmarks/bench_table.py; it also loads /api/v1/status with an API key). The
## agent runs without its per-client rate limit (100 requests per minute by default), which a load generator would hit.
BENCH_DIR ?= $(CURDIR)/.build/bench
bench: release
	mkdir -p $(BENCH_DIR)
	$(SWIFT) build $(RELEASE_FLAGS) --product viworks-bench
	$(RELEASE_BENCH_BIN)
	$(RELEASE_BENCH_BIN) scaling
	uptime
	../shared/bench/peerbench.sh --only ours,node_exporter,netdata,collectd,floor --settle 90 --tsv $(BENCH_DIR)/results.tsv \
	  --ours-name viworks --ours-interval 1 \
	  --ours 'env VIWORKS_AGENT_INTERVAL=1s VIWORKS_RATE_LIMIT_REQUESTS_PER_MINUTE=0 VIWORKS_AGENT_STATE_DIRECTORY=$(BENCH_DIR)/state $(RELEASE_BIN) run --config /dev/null --listen 127.0.0.1:19300' \
	  http://127.0.0.1:19300/metrics,http://127.0.0.1:19300/api/v1/status,http://127.0.0.1:19300/api/v1/health
	uptime
	$(PYTHON) Benchmarks/bench_table.py --binary $(RELEASE_BIN) --results $(BENCH_DIR)/results.tsv --settle 90

## The release binary's steady-state functions and the zero-initialised data it writes, listed anew for the link
## (Benchmarks/hot-code/profile.sh: the agent under valgrind's callgrind, then natively), after changes that move code
## in or out of the paths every collection and request take.
## Links once more with lld's map, which the list needs, and once more with the new list.
hot-code-order: release
	rm -f $(RELEASE_BIN)
	$(SWIFT) build $(RELEASE_FLAGS) --product viworks-agent -Xlinker -Map=$(CURDIR)/.build/viworks-agent.map
	PYTHON=$(PYTHON) Benchmarks/hot-code/profile.sh $(RELEASE_BIN) $(CURDIR)/.build/viworks-agent.map > .build/hot-code.order
	mv .build/hot-code.order Sources/viworks-agent/hot-code.order
	rm -f $(RELEASE_BIN)
	$(SWIFT) build $(RELEASE_FLAGS) --product viworks-agent

clean:
	rm -rf .build
