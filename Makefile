# Convenience wrapper around the runners: `make` builds build/callqa (scripts/build), `make test`
# runs the suite (scripts/test), `make asan` runs it under ASan+UBSan (scripts/test asan),
# `make bench` runs the levels benchmark (bench/run audio; bench/run lists every family).
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all:
	BUILD_DIR=$(BUILD) JOBS=$(JOBS) scripts/build

test: all
	BUILD_DIR=$(BUILD) JOBS=$(JOBS) scripts/test

asan:
	JOBS=$(JOBS) scripts/test asan

bench: all
	bench/run audio

clean:
	rm -rf $(BUILD) build-asan build-fuzz

.PHONY: all test asan bench clean
