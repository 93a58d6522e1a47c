# Convenience wrapper around CMake: `make` builds build/callqa, `make test` runs the suite,
# `make asan` runs it under ASan+UBSan, `make bench` runs bench/run.sh.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: all
	cd $(BUILD) && ctest --output-on-failure --no-tests=error --timeout 900

asan:
	cmake -S . -B build-asan -DCQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQ_BENCH=OFF >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure --no-tests=error --timeout 900

bench: all
	bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz

.PHONY: all test asan bench clean
