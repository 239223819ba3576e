# wasmorch Makefile. `make example` builds everything and materializes the example pipeline;
# `make test` runs every test. Both install what is missing (Debian packages when run as root,
# otherwise they print the command to run).

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/wasmorch
GUEST_ENV  := GOOS=wasip1 GOARCH=wasm
GUEST_GO   := $(GUEST_ENV) $(GO) build -buildmode=c-shared -trimpath
EXAMPLE_WS := testdata/orders/wasmorch.yaml

ORDERS_WASM := testdata/orders/go/orders.wasm
FAULTS_WASM := testdata/guests/go/faults/faults.wasm
WAT_SRC     := $(wildcard testdata/guests/wat/*.wat)
WAT_WASM    := $(WAT_SRC:.wat=.wasm)
GUESTS      := $(ORDERS_WASM) $(FAULTS_WASM) $(WAT_WASM)

.PHONY: all build guests example test test-go test-sdk check bench deps clean

all: build guests

## deps: make sure the toolchains are here (Go 1.26+, wabt's wat2wasm).
deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 or newer is required: see https://go.dev/doc/install"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1]<1 || (v[1]==1 && v[2]<26)) {print "Go 1.26 or newer is required, found " $$3; exit 1}}'
	@command -v wat2wasm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing wabt (wat2wasm) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wabt >/dev/null; \
	  else \
	    echo "wat2wasm is missing: run 'sudo apt-get install -y wabt'"; exit 1; \
	  fi; }

build: $(BIN)

$(BIN): $(shell find abi host cli cmd -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -o $@ ./cmd/wasmorch

## guests: build every .wasm module used by the example and the tests, from source.
guests: deps $(GUESTS)

$(ORDERS_WASM): $(wildcard testdata/orders/go/*.go testdata/orders/go/*.csv testdata/orders/go/go.*) $(wildcard sdk-go/*.go sdk-go/go.*)
	cd testdata/orders/go && $(GUEST_GO) -o orders.wasm .

$(FAULTS_WASM): $(wildcard testdata/guests/go/faults/*.go testdata/guests/go/faults/go.*) $(wildcard sdk-go/*.go sdk-go/go.*)
	cd testdata/guests/go/faults && $(GUEST_GO) -o faults.wasm .

%.wasm: %.wat
	wat2wasm $< -o $@

## example: build everything, materialize the orders pipeline, and show where to look.
example: build guests
	$(BIN) asset materialize --select '*' -w $(EXAMPLE_WS)
	$(BIN) asset show revenue_by_region -w $(EXAMPLE_WS)

## test: every test in every module (host, SDK, example guest), plus formatting and vet checks.
test: guests check test-go test-sdk

test-go:
	$(GO) test -count=1 ./...

test-sdk:
	cd sdk-go && $(GO) test -count=1 ./...
	cd testdata/orders/go && $(GO) test -count=1 ./...

## check: fail on unformatted code, vet findings, or an untidy go.mod.
check:
	@unformatted=$$(gofmt -l abi host cli cmd sdk-go testdata); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd sdk-go && $(GO) vet ./... && $(GUEST_ENV) $(GO) vet ./...
	@cp go.mod /tmp/wasmorch.go.mod.bak && cp go.sum /tmp/wasmorch.go.sum.bak; \
	  $(GO) mod tidy; \
	  if ! cmp -s go.mod /tmp/wasmorch.go.mod.bak || ! cmp -s go.sum /tmp/wasmorch.go.sum.bak; then \
	    cp /tmp/wasmorch.go.mod.bak go.mod; cp /tmp/wasmorch.go.sum.bak go.sum; \
	    echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; fi

## bench: run the benchmarks behind docs/BENCHMARKS.md; raw output goes to bench-out/.
bench: guests
	@mkdir -p bench-out
	$(GO) test -run '^$$' -bench 'TrivialStep' -benchtime 2s -count 5 ./host/internal/runtime/ | tee bench-out/step.txt
	$(GO) test -run '^$$' -bench 'MaterializeTrivial' -benchtime 2s -count 5 ./host/ | tee bench-out/run.txt
	$(GO) test -run '^$$' -bench 'Compile' -benchtime 2x -count 3 -timeout 30m ./host/internal/runtime/ | tee bench-out/compile.txt
	$(GO) test -run '^$$' -bench 'Loop|Fib' -benchtime 20x -count 5 ./host/internal/interrupt/ | tee bench-out/interrupt.txt
	$(GO) test -run '^$$' -bench 'AppendEvents' -benchtime 2s -count 3 ./host/store/badgerstore/ | tee bench-out/store.txt

clean:
	rm -rf bin $(GUESTS) testdata/orders/.wasmorch
