# The two commands of the quick start are `make demo` and `make test`; both install what
# is missing (apt), configure and build. See README.md.
JOBS ?= $(shell nproc)
RELEASE := build/release
ASAN := build/asan
FUZZ := build/fuzz
BENCH := build/bench
DB ?= mica.db
CMAKE := cmake -G Ninja -Wno-dev

.PHONY: all deps release demo test asan bench fuzz format clean

all: release

release:
	tools/install-deps.sh build
	$(CMAKE) -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DMICA_BUILD_TESTS=OFF >/dev/null
	ninja -C $(RELEASE) -j$(JOBS) mica

# Scans this machine's default locations into ./mica.db and prints the summary.
demo: release
	$(RELEASE)/mica scan fs --db $(DB)
	$(RELEASE)/mica summary --db $(DB)

# bench/ is compiled too (not run): its programs use the store and watch APIs, and a
# change there once broke bench_watch without any test noticing.
asan:
	tools/install-deps.sh test
	$(CMAKE) -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DMICA_SANITIZE=ON -DMICA_BUILD_BENCH=ON >/dev/null
	ninja -C $(ASAN) -j$(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test: asan
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS) --timeout 600

bench:
	tools/install-deps.sh bench
	$(CMAKE) -S . -B $(BENCH) -DCMAKE_BUILD_TYPE=Release -DMICA_BUILD_BENCH=ON -DMICA_BUILD_TESTS=OFF >/dev/null
	ninja -C $(BENCH) -j$(JOBS)
	BUILD=$(abspath $(BENCH)) bench/run_foundation.sh

fuzz:
	tools/install-deps.sh fuzz
	CC=clang CXX=clang++ $(CMAKE) -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DMICA_FUZZ=ON -DMICA_BUILD_TESTS=OFF >/dev/null
	ninja -C $(FUZZ) -j$(JOBS)

format:
	find src tests bench fuzz -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build
