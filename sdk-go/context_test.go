package wasmorch

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestTestContextDefaults(t *testing.T) {
	ctx := NewTestContext()
	got := []any{ctx.RunID(), ctx.AssetKey(), ctx.StepKey(), ctx.PartitionKey(), ctx.Attempt(), string(ctx.ConfigJSON())}
	want := []any{"test-run", "", "", "", 1, "{}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %v, want %v", got, want)
	}
	if ctx.Allocator() != memory.DefaultAllocator {
		t.Errorf("allocator is not memory.DefaultAllocator")
	}
	if logs, md := ctx.Logs(), ctx.Metadata(); len(logs) != 0 || len(md) != 0 {
		t.Errorf("fresh context has logs %v and metadata %v", logs, md)
	}
	var cfg struct{ Limit int }
	cfg.Limit = 10
	if err := ctx.Config(&cfg); err != nil || cfg.Limit != 10 {
		t.Errorf("empty config: Config() = %v, Limit = %d; want nil and the default 10", err, cfg.Limit)
	}
}

func TestTestContextOptions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := NewTestContext(
		WithRunID("r1"), WithAssetKey("orders/raw"), WithPartitionKey("2026-01-15|us"),
		WithAttempt(2), WithAllocator(mem), WithConfigJSON(`{"limit": 5, "name": "x"}`),
	)
	got := []any{ctx.RunID(), ctx.AssetKey(), ctx.StepKey(), ctx.PartitionKey(), ctx.Attempt()}
	want := []any{"r1", "orders/raw", "orders/raw", "2026-01-15|us", 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if ctx.Allocator() != mem {
		t.Errorf("WithAllocator was ignored")
	}
	var cfg struct {
		Limit int    `json:"limit"`
		Name  string `json:"name"`
	}
	if err := ctx.Config(&cfg); err != nil || cfg.Limit != 5 || cfg.Name != "x" {
		t.Errorf("Config() = %v, %+v", err, cfg)
	}
	if ctx := NewTestContext(WithAssetKey("a"), WithStepKey("a[eu]")); ctx.StepKey() != "a[eu]" {
		t.Errorf("WithStepKey: step key = %q", ctx.StepKey())
	}

	// ConfigJSON hands out a copy.
	js := ctx.ConfigJSON()
	js[0] = 'X'
	if ctx.ConfigJSON()[0] != '{' {
		t.Errorf("ConfigJSON exposes the context's own buffer")
	}
}

func TestTestContextConfigErrors(t *testing.T) {
	var v struct{ Limit int }
	err := NewTestContext(WithAssetKey("a"), WithConfigJSON(`{"Limit": "ten"}`)).Config(&v)
	if err == nil || !strings.HasPrefix(err.Error(), `asset "a": decoding config {"Limit": "ten"}: json: cannot unmarshal string`) {
		t.Errorf("type mismatch: err = %v", err)
	}
	err = NewTestContext(WithConfigJSON(`{oops`)).Config(&v)
	if err == nil || !strings.Contains(err.Error(), "decoding config {oops") {
		t.Errorf("invalid JSON: err = %v", err)
	}
	err = NewTestContext(WithConfig(map[string]any{"f": func() {}})).Config(&v)
	if err == nil || !strings.HasPrefix(err.Error(), "WithConfig: encoding map[string]interface {}: json: unsupported type") {
		t.Errorf("WithConfig with an unencodable value: err = %v", err)
	}
	ctx := NewTestContext(WithConfig(struct {
		Limit int
	}{7}))
	if err := ctx.Config(&v); err != nil || v.Limit != 7 {
		t.Errorf("WithConfig: Config() = %v, Limit = %d", err, v.Limit)
	}
}

func TestTestContextLogs(t *testing.T) {
	ctx := NewTestContext()
	ctx.Debug("starting")
	ctx.Info("loaded", "rows", 20, "file", "orders.csv", "note", "two words", "empty", "", "eq", "a=b")
	ctx.Warn("slow", slog.Duration("took", 1500*time.Millisecond))
	ctx.Error("failed", "err", context.DeadlineExceeded, slog.Group("req", "id", 7, "path", "/x"))
	l := ctx.Logger().With("step", "s1").WithGroup("g")
	l.Info("grouped", "k", true)
	l.Log(context.Background(), slog.Level(-10), "below debug")
	l.Log(context.Background(), slog.Level(2), "between info and warn")
	l.Log(context.Background(), slog.Level(12), "above error")

	want := []LogEntry{
		{slog.LevelDebug, "starting"},
		{slog.LevelInfo, `loaded rows=20 file=orders.csv note="two words" empty="" eq="a=b"`},
		{slog.LevelWarn, "slow took=1.5s"},
		{slog.LevelError, "failed err=\"context deadline exceeded\" req.id=7 req.path=/x"},
		{slog.LevelInfo, "grouped step=s1 g.k=true"},
		{slog.LevelDebug, "below debug step=s1"},
		{slog.LevelInfo, "between info and warn step=s1"},
		{slog.LevelError, "above error step=s1"},
	}
	if got := ctx.Logs(); !reflect.DeepEqual(got, want) {
		t.Errorf("logs:\n got %q\nwant %q", got, want)
	}
}

func TestTestContextMetadata(t *testing.T) {
	ctx := NewTestContext(WithAssetKey("a"))
	if err := ctx.AddMetadata(map[string]any{"regions": 4, "top": "north"}); err != nil {
		t.Fatal(err)
	}
	if err := ctx.AddMetadata(map[string]any{"top": "south", "ratio": 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := ctx.AddMetadata(nil); err != nil {
		t.Errorf("AddMetadata(nil) = %v, want nil", err)
	}
	want := map[string]any{"regions": 4, "top": "south", "ratio": 0.5}
	if got := ctx.Metadata(); !reflect.DeepEqual(got, want) {
		t.Errorf("metadata = %v, want %v", got, want)
	}

	err := ctx.AddMetadata(map[string]any{"ok": 1, "rows": 3})
	if err == nil || !strings.Contains(err.Error(), `asset "a": adding metadata: metadata entry "rows" is reserved for the host`) {
		t.Errorf("reserved name: err = %v", err)
	}
	err = ctx.AddMetadata(map[string]any{"c": make(chan int)})
	if err == nil || !strings.HasPrefix(err.Error(), `asset "a": encoding metadata: json: unsupported type: chan int`) {
		t.Errorf("unencodable value: err = %v", err)
	}
	if _, ok := ctx.Metadata()["ok"]; ok {
		t.Errorf("a refused AddMetadata call still recorded entries")
	}
}

func TestHostContextHasNoRecords(t *testing.T) {
	h := newFakeHost(t, nil)
	ctx := newContext(hostSink{h})
	ctx.Info("x")
	if ctx.Logs() != nil || ctx.Metadata() != nil {
		t.Errorf("a host context returned recorded logs or metadata")
	}
	h.fail["metadata_add"], h.failMsg = statusErrInvalid, `metadata entry "rows" is reserved`
	err := ctx.AddMetadata(map[string]any{"rows": 1})
	if err == nil || err.Error() != `asset "": adding metadata: metadata_add returned ERR_INVALID: metadata entry "rows" is reserved` {
		t.Errorf("err = %v", err)
	}
}
