# Convenience wrapper around the runners: `make` builds build/callqa (scripts/build), `make test`
# runs the suite (scripts/test), `make quick` its unit and parser tests (scripts/test quick),
# `make asan` and `make tsan` the sanitizer tiers (scripts/test asan|tsan),
# `make bench` runs the levels benchmark (bench/run audio; bench/run lists every family).
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all:
	BUILD_DIR=$(BUILD) JOBS=$(JOBS) scripts/build

test: all
	BUILD_DIR=$(BUILD) JOBS=$(JOBS) scripts/test

quick:
	BUILD_DIR=$(BUILD) JOBS=$(JOBS) scripts/test quick

asan:
	JOBS=$(JOBS) scripts/test asan

tsan:
	JOBS=$(JOBS) scripts/test tsan

bench: all
	bench/run audio

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz build-cov

.PHONY: all test quick asan tsan bench clean
