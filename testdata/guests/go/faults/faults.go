// Command faults is a wasmorch guest whose assets misbehave on purpose, for the host's tests:
// errors, panics, endless loops, memory exhaustion, logs and stdio, config echo, and a trivial
// step for overhead benchmarks. Every asset is in group "faults".
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o faults.wasm .
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	wasmorch "github.com/wasmorch/wasmorch/sdk-go"
)

func init() {
	group := wasmorch.Group("faults")
	wasmorch.Asset("ok_source", okSource, group,
		wasmorch.Description(`Returns {"n": 1}.`))
	wasmorch.Asset("ok_after", okAfter, group, wasmorch.Ins("ok_source"),
		wasmorch.Description(`Returns {"n": n+1} for its input {"n": n}.`))
	wasmorch.Asset("fails", fails, group,
		wasmorch.Description("Always returns an error."))
	wasmorch.Asset("after_fails", okAfter, group, wasmorch.Ins("fails"),
		wasmorch.Description("Would succeed, but its upstream fails."))
	wasmorch.Asset("after_after_fails", okAfter, group, wasmorch.Ins("after_fails"),
		wasmorch.Description("Two steps downstream of a failure."))
	wasmorch.Asset("panics", panics, group,
		wasmorch.Description("Panics."))
	wasmorch.Asset("loops", loops, group,
		wasmorch.Description("Spins forever without calling anything; only the host's time limit or cancellation ends it."))
	wasmorch.Asset("hogs", hogs, group,
		wasmorch.Description("Allocates memory until the memory limit stops it."))
	wasmorch.Asset("logs", logs, group,
		wasmorch.Description("Logs once at each level and writes a line to stdout and to stderr."))
	wasmorch.Asset("sleepy_json", sleepyJSON, group,
		wasmorch.Description("Busy-waits about 20ms, then returns {\"slept\": true}."))
	wasmorch.Asset("echo_config", echoConfig, group,
		wasmorch.Description("Returns its run config."),
		wasmorch.ConfigSchema(`{"type": "object"}`))
	wasmorch.Asset("trivial", trivial, group,
		wasmorch.Description("Returns 1; for measuring per-step overhead."))
	wasmorch.Asset("wrong_type", wrongType, group,
		wasmorch.Description("Declares id int64 but writes id int32."),
		wasmorch.Schema(idNameSchema(arrow.PrimitiveTypes.Int64, false)))
	wasmorch.Asset("null_in_not_null", nullInNotNull, group,
		wasmorch.Description("Declares name not null but writes a null name."),
		wasmorch.Schema(idNameSchema(arrow.PrimitiveTypes.Int64, false)))
	wasmorch.Asset("flaky", flaky, group,
		wasmorch.Description("Fails on attempts 1 and 2, succeeds on attempt 3."),
		wasmorch.Retry(wasmorch.RetryPolicy{MaxRetries: 3, Delay: 10 * time.Millisecond, Backoff: wasmorch.BackoffExponential}))
	wasmorch.Asset("always_flaky", alwaysFlaky, group,
		wasmorch.Description("Always fails; retried twice."),
		wasmorch.Retry(wasmorch.RetryPolicy{MaxRetries: 2, Delay: 5 * time.Millisecond, Jitter: wasmorch.JitterFull}))
	wasmorch.Asset("asks_retry", asksRetry, group,
		wasmorch.Description("Asks to be retried, but has no retry policy."))
	wasmorch.Asset("typed_config", typedConfig, group,
		wasmorch.Description("Returns its config, which has a schema derived from a Go struct."),
		wasmorch.ConfigFrom(typedConfigT{}))
	wasmorch.Asset("fails_if", failsIf, group, wasmorch.Ins("echo_config"),
		wasmorch.Description(`Fails when its config says {"fail": true}; otherwise returns its input.`),
		wasmorch.ConfigSchema(`{"type": "object", "properties": {"fail": {"type": "boolean", "default": false}}}`))
	wasmorch.Asset("after_fails_if", okPassThrough, group, wasmorch.Ins("fails_if"),
		wasmorch.Description("Returns its input."))
	wasmorch.Asset("checked", func(*wasmorch.Context) (counter, error) { return counter{N: 5}, nil }, group,
		wasmorch.Description(`Returns {"n": 5}; has two checks, one that warns.`))
	wasmorch.Check("checked", "n_positive", func(_ *wasmorch.Context, c counter) (wasmorch.CheckResult, error) {
		return wasmorch.CheckResult{Passed: c.N > 0, Metadata: map[string]any{"n": c.N}}, nil
	})
	wasmorch.Check("checked", "n_small", func(_ *wasmorch.Context, c counter) (wasmorch.CheckResult, error) {
		return wasmorch.CheckResult{Passed: c.N < 3, Severity: wasmorch.SeverityWarn}, nil
	}, wasmorch.Blocking()) // blocking, but a WARN failure never blocks
	wasmorch.Asset("after_checked", okAfter, group, wasmorch.Ins("checked"))
	wasmorch.Asset("blocked_source", func(*wasmorch.Context) (counter, error) { return counter{N: -1}, nil }, group,
		wasmorch.Description(`Returns {"n": -1}, which its blocking check rejects.`))
	wasmorch.Check("blocked_source", "n_non_negative", func(_ *wasmorch.Context, c counter) (wasmorch.CheckResult, error) {
		return wasmorch.CheckResult{Passed: c.N >= 0}, nil
	}, wasmorch.Blocking(), wasmorch.CheckDescription("n must not be negative"))
	wasmorch.Asset("after_blocked", okAfter, group, wasmorch.Ins("blocked_source"))
	wasmorch.Asset("reads_landing", readsLanding, group, wasmorch.Resources("landing"),
		wasmorch.Description(`Reads the file named by config {"path": ...} through the files resource "landing".`),
		wasmorch.ConfigSchema(`{"type": "object", "properties": {"path": {"type": "string", "default": "hello.txt"}}}`))
	contract := wasmorch.OutputJSONSchema(`{"type": "object", "required": ["count"],
		"properties": {"count": {"type": "integer", "minimum": 0}, "label": {"type": "string"}}}`)
	wasmorch.Asset("json_contract_ok", func(*wasmorch.Context) (map[string]any, error) {
		return map[string]any{"count": 3, "label": "fine"}, nil
	}, group, contract)
	wasmorch.Asset("json_contract_broken", func(*wasmorch.Context) (map[string]any, error) {
		return map[string]any{"count": -1, "label": 7}, nil
	}, group, contract)
	wasmorch.Asset("sandbox", sandbox, group,
		wasmorch.Description("Reports what the sandbox lets it see: environment, arguments, files, working directory."))
}

// sandboxReport is what a guest can reach through WASI; the host grants nothing, so every
// field should come back empty or as an error.
type sandboxReport struct {
	Env      []string `json:"env"`
	Args     []string `json:"args"`
	RootDir  string   `json:"root_dir"`
	DotDir   string   `json:"dot_dir"`
	EtcFile  string   `json:"etc_file"`
	Getwd    string   `json:"getwd"`
	TimeSane bool     `json:"time_sane"`
}

func sandbox(*wasmorch.Context) (sandboxReport, error) {
	r := sandboxReport{Env: os.Environ(), Args: os.Args}
	errText := func(err error) string {
		if err == nil {
			return "ok"
		}
		return err.Error()
	}
	_, err := os.ReadDir("/")
	r.RootDir = errText(err)
	_, err = os.ReadDir(".")
	r.DotDir = errText(err)
	_, err = os.ReadFile("/etc/passwd")
	r.EtcFile = errText(err)
	wd, err := os.Getwd()
	r.Getwd = wd + errText(err)
	// The wall clock is real (not wazero's fake clock): data steps stamp rows with it.
	r.TimeSane = time.Now().Year() >= 2024
	return r, nil
}

func main() {}

type counter struct {
	N int `json:"n"`
}

func okSource(*wasmorch.Context) (counter, error) { return counter{N: 1}, nil }

func okAfter(_ *wasmorch.Context, in counter) (counter, error) { return counter{N: in.N + 1}, nil }

func fails(*wasmorch.Context) (counter, error) {
	return counter{}, errors.New("boom: the upstream API said no")
}

func panics(*wasmorch.Context) (bool, error) { panic("deliberate panic") }

// spin is package-level and the loop's exit depends on it, so the compiler must keep loading and
// storing it: with a bare "for { spin++ }" it drops the store, since nothing could observe it,
// and leaves an empty loop.
var spin uint64

// loops never returns in practice: spin wraps to 0 after 2^64 increments, centuries from now.
// The loop body makes no calls, so the guest never reaches a host function or a Go scheduling
// point: only the host interrupting the wasm code (time limit, cancellation) can stop it.
func loops(ctx *wasmorch.Context) (bool, error) {
	ctx.Info("looping forever")
	for {
		spin++
		if spin == 0 {
			return false, errors.New("loops: the counter wrapped around")
		}
	}
}

// hoard keeps every allocation reachable, so the garbage collector cannot give memory back.
var hoard [][]byte

// hogs allocates 1 MiB at a time until memory.grow fails at the host's memory limit; the Go
// runtime then reports "fatal error: out of memory" on stderr and exits.
func hogs(ctx *wasmorch.Context) (bool, error) {
	ctx.Info("allocating until the memory limit")
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touch every page, in case an allocator ever hands out lazy memory
		}
		hoard = append(hoard, b)
	}
}

func logs(ctx *wasmorch.Context) (bool, error) {
	ctx.Debug("debug line", "level", "debug")
	ctx.Info("info line", "level", "info")
	ctx.Warn("warn line", "level", "warn")
	ctx.Error("error line", "level", "error")
	fmt.Println("hello from stdout")
	fmt.Fprintln(os.Stderr, "hello from stderr")
	return true, nil
}

func sleepyJSON(*wasmorch.Context) (map[string]bool, error) {
	// A busy wait: WASI's clock is real, and a sleep would also need poll_oneoff from the host.
	for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline); {
	}
	return map[string]bool{"slept": true}, nil
}

func echoConfig(ctx *wasmorch.Context) (json.RawMessage, error) {
	return ctx.ConfigJSON(), nil
}

func trivial(*wasmorch.Context) (int, error) { return 1, nil }

// idNameSchema is (id <idType>, name utf8) with name nullable or not.
func idNameSchema(idType arrow.DataType, nameNullable bool) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: idType, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: nameNullable},
	}, nil)
}

func idNameRecord(ctx *wasmorch.Context, idType arrow.DataType, names []string, valid []bool) arrow.Record {
	b := array.NewRecordBuilder(ctx.Allocator(), idNameSchema(idType, true))
	defer b.Release()
	for i, n := range names {
		switch ib := b.Field(0).(type) {
		case *array.Int32Builder:
			ib.Append(int32(i))
		case *array.Int64Builder:
			ib.Append(int64(i))
		}
		if valid[i] {
			b.Field(1).(*array.StringBuilder).Append(n)
		} else {
			b.Field(1).AppendNull()
		}
	}
	return b.NewRecord()
}

func wrongType(ctx *wasmorch.Context) (arrow.Record, error) {
	return idNameRecord(ctx, arrow.PrimitiveTypes.Int32, []string{"a", "b"}, []bool{true, true}), nil
}

func nullInNotNull(ctx *wasmorch.Context) (arrow.Record, error) {
	return idNameRecord(ctx, arrow.PrimitiveTypes.Int64, []string{"a", "", "c"}, []bool{true, false, true}), nil
}

func flaky(ctx *wasmorch.Context) (map[string]int, error) {
	if ctx.Attempt() < 3 {
		return nil, fmt.Errorf("flaky: attempt %d failed", ctx.Attempt())
	}
	return map[string]int{"attempt": ctx.Attempt()}, nil
}

func alwaysFlaky(ctx *wasmorch.Context) (int, error) {
	return 0, fmt.Errorf("always flaky: attempt %d failed", ctx.Attempt())
}

func asksRetry(*wasmorch.Context) (int, error) {
	return 0, wasmorch.RetryLater(errors.New("the upstream service is busy"))
}

type typedConfigT struct {
	Name   string `json:"name" doc:"who to greet"`
	Count  int    `json:"count" default:"2"`
	Mode   string `json:"mode" enum:"fast,slow" default:"fast"`
	Secret string `json:"secret,omitempty" doc:"give it as {\"env\": \"NAME\"}"`
}

func typedConfig(ctx *wasmorch.Context) (typedConfigT, error) {
	var c typedConfigT
	err := ctx.Config(&c)
	return c, err
}

func failsIf(ctx *wasmorch.Context, in map[string]any) (map[string]any, error) {
	var c struct {
		Fail bool `json:"fail"`
	}
	if err := ctx.Config(&c); err != nil {
		return nil, err
	}
	if c.Fail {
		return nil, errors.New("fails_if: asked to fail")
	}
	return in, nil
}

func okPassThrough(_ *wasmorch.Context, in map[string]any) (map[string]any, error) { return in, nil }

func readsLanding(ctx *wasmorch.Context) (string, error) {
	var c struct {
		Path string `json:"path"`
	}
	if err := ctx.Config(&c); err != nil {
		return "", err
	}
	resp, err := ctx.Resource("landing", map[string]any{"op": "read", "path": c.Path})
	if err != nil {
		return "", err
	}
	var r struct {
		Data []byte `json:"data_base64"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return "", err
	}
	return string(r.Data), nil
}
