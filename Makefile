# wasmorch Makefile. `make example` builds everything and materializes the example pipeline;
# `make test` runs every test. Both install what is missing (Debian packages when run as root,
# otherwise they print the command to run).

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/wasmorch
GUEST_ENV  := GOOS=wasip1 GOARCH=wasm
GUEST_GO   := $(GUEST_ENV) $(GO) build -buildmode=c-shared -trimpath
EXAMPLE_WS := testdata/orders/wasmorch.yaml

RUSTC_WASM := RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi --offline --quiet
CLANG_WASM := clang --target=wasm32-wasi -O2 -mexec-model=reactor -Isdk-c

ORDERS_WASM := testdata/orders/go/orders.wasm
FAULTS_WASM := testdata/guests/go/faults/faults.wasm
OPS_WASM    := testdata/guests/go/ops/ops.wasm
FAN_C_WASM  := testdata/guests/c/fan.wasm
FAN_RS_WASM := testdata/guests/rust/fan/fan.wasm
# Hand-written WebAssembly text: fixtures (wat/) and the hostile-guest corpus (hostile/).
WAT_SRC     := $(wildcard testdata/guests/wat/*.wat testdata/guests/hostile/*.wat)
WAT_WASM    := $(WAT_SRC:.wat=.wasm)
# Guests in Rust and C join the build once their sources exist.
CONF_GO     := testdata/conformance/go/conformance.wasm
CONF_RUST   := $(if $(wildcard testdata/conformance/rust/Cargo.toml),testdata/conformance/rust/conformance.wasm)
CONF_C      := $(if $(wildcard testdata/conformance/c/conformance.c),testdata/conformance/c/conformance.wasm)
POLY_GO     := $(if $(wildcard testdata/polyglot/go/*.go),testdata/polyglot/go/raw_orders.wasm)
POLY_RUST   := $(if $(wildcard testdata/polyglot/rust/Cargo.toml),testdata/polyglot/rust/cleaned_orders.wasm)
POLY_C      := $(if $(wildcard testdata/polyglot/c/*.c),testdata/polyglot/c/revenue_by_region.wasm)
# The partitions fixture (testdata/partitions): every definition and mapping kind, in Rust.
PARTS_RUST  := $(if $(wildcard testdata/partitions/rust/Cargo.toml),testdata/partitions/rust/parts.wasm)
# ... and a Go and a C module declaring partitions through their SDKs (testdata/partitions/polyglot.yaml).
PARTS_GO    := testdata/partitions/go/go_parts.wasm
PARTS_C     := testdata/partitions/c/c_parts.wasm
# The guests of the side-by-side benchmarks (bench/README.md), run by bench/wasmorch.
BENCH_GO    := testdata/bench/go/fib_chain.wasm testdata/bench/go/graph1000.wasm testdata/bench/go/orders.wasm
BENCH_RUST  := testdata/bench/rust/fib_chain.wasm testdata/bench/rust/graph1000.wasm testdata/bench/rust/orders.wasm
GUESTS      := $(ORDERS_WASM) $(FAULTS_WASM) $(OPS_WASM) $(FAN_C_WASM) $(FAN_RS_WASM) $(WAT_WASM) $(CONF_GO) $(CONF_RUST) $(CONF_C) $(POLY_GO) $(POLY_RUST) $(POLY_C) $(BENCH_GO) $(BENCH_RUST) $(PARTS_RUST) $(PARTS_GO) $(PARTS_C)
SDK_GO_SRC   = $(wildcard sdk-go/*.go sdk-go/go.*)
SDK_RUST_SRC = $(shell find sdk-rust -name '*.rs' -o -name Cargo.toml 2>/dev/null)
SDK_C_SRC    = $(wildcard sdk-c/wasmorch.c sdk-c/wasmorch.h)

.PHONY: all build guests example test test-go test-sdk test-c check bench deps clean

all: build guests

## deps: make sure the toolchains are here (Go 1.26+, wabt's wat2wasm).
deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 or newer is required: see https://go.dev/doc/install"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1]<1 || (v[1]==1 && v[2]<26)) {print "Go 1.26 or newer is required, found " $$3; exit 1}}'
	@missing=""; \
	  command -v wat2wasm >/dev/null || missing="$$missing wabt"; \
	  [ -d /usr/lib/rustlib/wasm32-wasi ] && [ -x /usr/bin/cargo ] || missing="$$missing rustc cargo libstd-rust-dev-wasm32"; \
	  [ -e /usr/lib/wasm32-wasi/libc.a ] && command -v clang >/dev/null && command -v wasm-ld >/dev/null || missing="$$missing clang lld wasi-libc"; \
	  ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 || missing="$$missing libclang-rt-14-dev-wasm32"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	      echo "installing with apt-get:$$missing"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else \
	      echo "missing toolchains: run 'sudo apt-get install -y$$missing'"; exit 1; \
	    fi; \
	  fi

build: $(BIN)

$(BIN): $(shell find abi host cli cmd -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -o $@ ./cmd/wasmorch

## guests: build every .wasm module used by the example and the tests, from source.
guests: deps $(GUESTS)

ORDERS_SRC = $(wildcard testdata/orders/go/*.go testdata/orders/go/go.* testdata/orders/go/pipeline/*)

$(ORDERS_WASM): $(ORDERS_SRC) $(SDK_GO_SRC)
	cd testdata/orders/go && $(GUEST_GO) -o orders.wasm .

$(FAULTS_WASM): $(wildcard testdata/guests/go/faults/*.go testdata/guests/go/faults/go.*) $(SDK_GO_SRC)
	cd testdata/guests/go/faults && $(GUEST_GO) -o faults.wasm .

$(OPS_WASM): $(wildcard testdata/guests/go/ops/*.go testdata/guests/go/ops/go.*) $(SDK_GO_SRC)
	cd testdata/guests/go/ops && $(GUEST_GO) -o ops.wasm .

$(FAN_C_WASM): testdata/guests/c/fan.c $(SDK_C_SRC)
	$(CLANG_WASM) -o $@ testdata/guests/c/fan.c sdk-c/wasmorch.c

$(FAN_RS_WASM): testdata/guests/rust/fan/src/lib.rs testdata/guests/rust/fan/Cargo.toml $(SDK_RUST_SRC)
	cd testdata/guests/rust/fan && $(RUSTC_WASM) && cp target/wasm32-wasi/release/fan.wasm fan.wasm

%.wasm: %.wat
	wat2wasm $< -o $@

$(CONF_GO): $(wildcard testdata/conformance/go/*.go testdata/conformance/go/go.*) $(SDK_GO_SRC)
	cd testdata/conformance/go && $(GUEST_GO) -o conformance.wasm .

testdata/conformance/rust/conformance.wasm: $(shell find testdata/conformance/rust -name '*.rs' -o -name 'Cargo.*' 2>/dev/null | grep -v /target/) $(SDK_RUST_SRC)
	cd testdata/conformance/rust && $(RUSTC_WASM) && cp target/wasm32-wasi/release/conformance.wasm conformance.wasm

testdata/conformance/c/conformance.wasm: testdata/conformance/c/conformance.c $(SDK_C_SRC)
	$(CLANG_WASM) -o $@ testdata/conformance/c/conformance.c sdk-c/wasmorch.c

testdata/polyglot/go/raw_orders.wasm: $(wildcard testdata/polyglot/go/*.go testdata/polyglot/go/go.*) $(ORDERS_SRC) $(SDK_GO_SRC)
	cd testdata/polyglot/go && $(GUEST_GO) -o raw_orders.wasm .

testdata/polyglot/rust/cleaned_orders.wasm: $(shell find testdata/polyglot/rust -name '*.rs' -o -name 'Cargo.*' 2>/dev/null | grep -v /target/) $(SDK_RUST_SRC)
	cd testdata/polyglot/rust && $(RUSTC_WASM) && cp target/wasm32-wasi/release/cleaned_orders.wasm cleaned_orders.wasm

testdata/polyglot/c/revenue_by_region.wasm: $(wildcard testdata/polyglot/c/*.c) $(SDK_C_SRC)
	$(CLANG_WASM) -o $@ testdata/polyglot/c/revenue_by_region.c sdk-c/wasmorch.c

testdata/partitions/rust/parts.wasm: $(shell find testdata/partitions/rust -name '*.rs' -o -name 'Cargo.*' 2>/dev/null | grep -v /target/) $(SDK_RUST_SRC)
	cd testdata/partitions/rust && $(RUSTC_WASM) && cp target/wasm32-wasi/release/parts.wasm parts.wasm

$(PARTS_GO): $(wildcard testdata/partitions/go/*.go testdata/partitions/go/go.*) $(SDK_GO_SRC)
	cd testdata/partitions/go && $(GUEST_GO) -o go_parts.wasm .

$(PARTS_C): testdata/partitions/c/c_parts.c $(SDK_C_SRC)
	$(CLANG_WASM) -o $@ testdata/partitions/c/c_parts.c sdk-c/wasmorch.c

BENCH_GO_SRC = $(wildcard testdata/bench/go/go.* testdata/bench/go/*/*.go)

testdata/bench/go/fib_chain.wasm: $(BENCH_GO_SRC) $(SDK_GO_SRC)
	cd testdata/bench/go && $(GUEST_GO) -o fib_chain.wasm ./fibchain

testdata/bench/go/graph1000.wasm: $(BENCH_GO_SRC) $(SDK_GO_SRC)
	cd testdata/bench/go && $(GUEST_GO) -o graph1000.wasm ./graph1000

testdata/bench/go/orders.wasm: $(BENCH_GO_SRC) $(ORDERS_SRC) $(SDK_GO_SRC)
	cd testdata/bench/go && $(GUEST_GO) -o orders.wasm ./orders

BENCH_RUST_SRC = $(shell find testdata/bench/rust -name '*.rs' -o -name 'Cargo.*' 2>/dev/null | grep -v /target/)

testdata/bench/rust/%.wasm: $(BENCH_RUST_SRC) $(SDK_RUST_SRC)
	cd testdata/bench/rust && $(RUSTC_WASM) -p $* && cp target/wasm32-wasi/release/$*.wasm $*.wasm

## example: build everything, materialize the orders pipeline, and show where to look.
example: build guests
	$(BIN) asset materialize --select '*' -w $(EXAMPLE_WS)
	$(BIN) asset show revenue_by_region -w $(EXAMPLE_WS)

## test: every test in every module (host, SDK, example guest), plus formatting and vet checks.
test: guests check test-go test-sdk test-c

test-go:
	$(GO) test -count=1 ./...

RUST_TEST := RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc /usr/bin/cargo test --offline --quiet

test-sdk:
	cd sdk-go && $(GO) test -count=1 ./...
	cd testdata/orders/go && $(GO) test -count=1 ./...
	cd testdata/bench/go && $(GO) test -count=1 ./...
	cd testdata/partitions/go && $(GO) test -count=1 ./...
	cd sdk-rust && $(RUST_TEST)
	cd testdata/conformance/rust && $(RUST_TEST)
	cd testdata/polyglot/rust && $(RUST_TEST)
	cd testdata/bench/rust && $(RUST_TEST)
	cd testdata/partitions/rust && $(RUST_TEST)

## test-c: the C SDK's native tests (Arrow IPC codec, JSON, registration) under sanitizers.
test-c:
	@mkdir -p bin
	cc -std=c11 -Wall -Wextra -g -fsanitize=address,undefined -fno-sanitize-recover=all -Isdk-c \
	  -o bin/wasmorch-c-tests sdk-c/tests/test_wasmorch.c -lm
	bin/wasmorch-c-tests

## check: fail on unformatted code, vet findings, or an untidy go.mod.
check:
	@unformatted=$$(gofmt -l abi host cli cmd sdk-go sdk-rust testdata); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd sdk-go && $(GO) vet ./... && $(GUEST_ENV) $(GO) vet ./...
	@cp go.mod /tmp/wasmorch.go.mod.bak && cp go.sum /tmp/wasmorch.go.sum.bak; \
	  $(GO) mod tidy; \
	  if ! cmp -s go.mod /tmp/wasmorch.go.mod.bak || ! cmp -s go.sum /tmp/wasmorch.go.sum.bak; then \
	    cp /tmp/wasmorch.go.mod.bak go.mod; cp /tmp/wasmorch.go.sum.bak go.sum; \
	    echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; fi

# BENCH_TMPFS: a tmpfs for the side-by-side runs with storage in memory.
BENCH_TMPFS ?= /dev/shm

## bench: run the benchmarks behind docs/BENCHMARKS.md, raw output to bench-out/, then render the page
## from docs/BENCHMARKS.tmpl.md with this run's figures (bench/report).
bench: SHELL := /bin/bash -o pipefail
bench: guests
	@mkdir -p bench-out
	$(GO) test -run '^$$' -bench 'TrivialStep' -benchtime 2s -count 5 ./host/internal/runtime/ | tee bench-out/step.txt
	$(GO) test -run '^$$' -bench 'StepOverhead' -benchtime 2s -count 5 ./host/internal/runtime/ | tee bench-out/step-languages.txt
	$(GO) test -run '^$$' -bench 'FirstStep' -benchtime 3x -count 3 -timeout 30m ./host/internal/runtime/ | tee bench-out/first-step.txt
	$(GO) test -run '^$$' -bench 'ArrowPassThrough' -benchtime 1x -count 3 -timeout 30m ./host/internal/runtime/ | tee bench-out/passthrough.txt
	$(GO) test -run '^$$' -bench 'MaterializeTrivial|LaunchTrivial' -benchtime 2s -count 5 ./host/ | tee bench-out/run.txt
	$(GO) test -run '^$$' -bench 'Compile' -benchtime 2x -count 3 -timeout 30m ./host/internal/runtime/ | tee bench-out/compile.txt
	$(GO) test -run '^$$' -bench 'Loop|Fib' -benchtime 20x -count 5 ./host/internal/interrupt/ | tee bench-out/interrupt.txt
	$(GO) test -run '^$$' -bench 'AppendEvents' -benchtime 2s -count 3 ./host/store/badgerstore/ | tee bench-out/store.txt
	$(GO) test -run '^$$' -bench 'PartitionsList100k' -benchtime 10x -count 5 -timeout 30m ./host/ | tee bench-out/partitions-list.txt
	$(GO) test -run '^$$' -bench 'PartitionStatuses100k' -benchtime 10x -count 5 ./host/store/badgerstore/ | tee bench-out/partitions-index.txt
	$(GO) test -run '^$$' -bench 'BackfillLaunch' -benchtime 1x -count 3 -timeout 60m ./host/ | tee bench-out/backfill.txt
	$(GO) test -run '^$$' -bench 'ArrowOutputCheck' -benchtime 2s -count 8 ./host/internal/runtime/ | tee bench-out/arrowcheck.txt
	$(GO) test -run '^$$' -bench 'ArrowOutputCheck' -benchtime 30x -count 3 -benchmem ./host/internal/runtime/ | tee bench-out/arrowcheck-mem.txt
	bench/dagster/setup.sh
	bench/dagster/run.sh
	$(GO) run ./bench/wasmorch -reps 5 -out bench-out/wasmorch.jsonl
	@# Again with both sides' storage on a tmpfs, where creating a file costs microseconds, not
	@# the disk's milliseconds: the orchestrators' own overhead, without the storage floor.
	@[ "$$(stat -f -c %T $(BENCH_TMPFS))" = tmpfs ] || { echo "make bench: BENCH_TMPFS=$(BENCH_TMPFS) is not a tmpfs; set BENCH_TMPFS to one" >&2; exit 2; }
	TMPDIR=$(BENCH_TMPFS) BENCH_DAGSTER_OUT=dagster-tmpfs BENCH_DAGSTER_MODES=in_process BENCH_DAGSTER_PIPELINES=fib_chain,graph1000 bench/dagster/run.sh
	$(GO) run ./bench/wasmorch -reps 5 -only fib_chain,graph1000 -storage $(BENCH_TMPFS)/wasmorch-bench -out bench-out/wasmorch-tmpfs.jsonl
	$(GO) run ./bench/report -in bench-out -template docs/BENCHMARKS.tmpl.md -out docs/BENCHMARKS.md
	@echo "docs/BENCHMARKS.md rewritten from this run's bench-out/"

clean:
	rm -rf bin $(GUESTS) testdata/orders/.wasmorch

## fuzz: run every Go fuzz target for FUZZTIME each (default 30s), one after another. A failing
## input is written to its package's testdata/fuzz/FuzzXxx/ (commit it with the fix); the targets
## that failed are listed at the end. Plain `go test`, and so `make test`, runs only the seeds.
FUZZTIME     ?= 30s
FUZZMINIMIZE ?= 5s
FUZZ_TARGETS := \
	host/internal/manifest:FuzzParse host/internal/manifest:FuzzManifest \
	host/internal/workspace:FuzzWorkspace \
	host/internal/graph:FuzzSelect host/internal/graph:FuzzSelectReference \
	host/internal/config:FuzzApply host/internal/config:FuzzValidateRunConfig host/internal/config:FuzzValidateGraphRunConfig \
	host/internal/runtime:FuzzHostFuncBounds host/internal/runtime:FuzzArrowOutput \
	host/internal/interrupt:FuzzInstrument host/internal/resources:FuzzRequest host/internal/wasmopt:FuzzMergeDataSegments

.PHONY: fuzz
fuzz:
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./$$pkg \
	    || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz targets that failed:$$failed"; exit 1; fi
