# What a person types. Each target installs what it needs first (as root,
# quietly, only when something is missing), so it works on a fresh Debian 12.
#
#   make serve   the chat server and its page on http://127.0.0.1:8080/
#   make test    everything: Release build, sanitizer build, every test suite
#   make build   Release build into build/
#   make bench   build and run the benchmarks
#   make bench-servers   nexus-socket echo against other libraries' servers
#                (QUICK=1 for a short run; see scripts/bench-servers)
#   make bench-php   the PHP echo server against the native one (scripts/bench-php)
#   make bench-bindings   the Go and Java echo servers against gorilla's and the native one
#   make bench-scaling   broadcast fan-out over three servers sharing Redis against one server
#   make bench-threads   nexus-socket echo with one event loop against two (scripts/bench-threads)
#   make fuzz    run every libFuzzer target for FUZZ_SECONDS (default 30) each
#   make format  rewrite our sources with clang-format
#   make package the .deb and .rpm packages, built in build-pkg/, into build/packages/
#   make package-test   those packages installed into a fresh Debian 12 root and
#                tried there (as root; reaches the Debian mirror; docs/packaging.md)

SHELL        := /bin/bash
BUILD        ?= build
ASAN_BUILD   ?= build-asan
TSAN_BUILD   ?= build-tsan
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
PKG_BUILD    ?= build-pkg
PACKAGES     ?= $(BUILD)/packages
JOBS         ?= $(shell nproc)

.PHONY: deps build build-asan build-tsan test bench bench-servers bench-php bench-bindings bench-scaling bench-threads fuzz format serve clean \
        package package-test

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DNX_SANITIZER_BUILD_DIR=$(abspath $(ASAN_BUILD)) \
	  -DNX_TSAN_BUILD_DIR=$(abspath $(TSAN_BUILD)) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Clang with AddressSanitizer + UndefinedBehaviorSanitizer: the test binaries
# only; the Release build's ctest runs them (one count for everything).
build-asan: deps
	@CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DNX_SANITIZE=address -DNX_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# ThreadSanitizer for the threaded parts (io/); its tests run from build/.
build-tsan: deps
	@CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DNX_SANITIZE=thread -DNX_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target nexus-io-tests nexus-capi-tests

test: build build-asan build-tsan
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@$(BUILD)/bin/nexus-core-bench --benchmark_counters_tabular=true

# Echo servers of other WebSocket libraries (bench/servers/, built into
# build/bench-servers/) under `nexus-socket bench`; table in
# build/bench-servers/results.md. QUICK=1, ROUNDS, DURATION: see the script.
bench-servers: build
	@scripts/bench-servers --build $(BUILD)

# A handler written in PHP against the native echo server, in one run.
bench-php: build
	@scripts/bench-php $(BUILD)

# The Go and Java bindings' echo servers against gorilla/websocket's and the
# native one.
bench-bindings: build
	@scripts/bench-bindings $(BUILD)

# Broadcast fan-out across three servers sharing clients through Redis, against
# the same load on one server (docs/scaling.md).
bench-scaling: build
	@scripts/bench-scaling $(BUILD)

# One event loop against two under the same load: rate, CPU, each loop's share.
bench-threads: build
	@scripts/bench-threads --build $(BUILD)

fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNX_FUZZ=ON -DNX_BUILD_TESTS=OFF -DNX_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

format: deps
	@git ls-files '*.cpp' '*.hpp' '*.c' '*.h' | xargs clang-format -i

# The chat server of the SPEC, in PHP (the seed's `php nexus websocket:serve`),
# with its browser page: http://127.0.0.1:8080/
serve: build
	@$(BUILD)/bin/php-nexus nexus websocket:serve --host=127.0.0.1 --port=8080

# Packages (docs/packaging.md): CPack's .deb and .rpm from their own Release
# build tree (prefix /usr), checked with lintian; package-test installs them
# into a fresh debootstrap root under $(PKG_BUILD)/ and uses them there.
package: deps
	@scripts/install-deps --packaging
	@JOBS=$(JOBS) scripts/package --configure --build $(PKG_BUILD) --packages $(PACKAGES)

package-test: package
	@JOBS=$(JOBS) scripts/package-test --no-build --build $(PKG_BUILD) --packages $(PACKAGES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
